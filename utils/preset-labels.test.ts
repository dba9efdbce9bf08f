import { describe, expect, it } from 'vitest';
import { getPreset, isPresetId } from '@/lib/providers/presets';
import messages from '../public/_locales/en/messages.json';
import { PRESET_LABEL_KEYS, PRESET_LABELS_ENGLISH, withPresetLabels } from './preset-labels';

describe('descriptive preset names', () => {
  it('are the presets’ English names, and the messages file has them alike', () => {
    const file = messages as Record<string, { message: string }>;
    for (const [id, key] of Object.entries(PRESET_LABEL_KEYS)) {
      expect(isPresetId(id), id).toBe(true);
      const label = getPreset(id as Parameters<typeof getPreset>[0]).label;
      expect(PRESET_LABELS_ENGLISH.get(label), id).toBe(key);
      expect(file[key]?.message, key).toBe(label);
    }
    expect(PRESET_LABELS_ENGLISH.size).toBe(Object.keys(PRESET_LABEL_KEYS).length);
  });

  it('are put in the file’s words where a sentence names them', () => {
    const get = withPresetLabels((key: string, subs?: string[]) =>
      key === 'preset_label_ollama'
        ? 'Ollama (lokal)'
        : key === 'preset_label_custom'
          ? ''
          : `${key}:${(subs ?? []).join('|')}`,
    );
    expect(get('error_detail_cors', ['Ollama (local)', 'http://localhost:11434/v1'])).toBe(
      'error_detail_cors:Ollama (lokal)|http://localhost:11434/v1',
    );
    expect(get('error_detail_cors', ['Groq', 'x'])).toBe('error_detail_cors:Groq|x');
    // No message for the name: the English stays.
    expect(get('error_detail_cors', ['Custom endpoint'])).toBe('error_detail_cors:Custom endpoint');
  });
});
