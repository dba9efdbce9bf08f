import { describe, expect, it } from 'vitest';
import { GUARD_MODEL_IDS } from '../guard/types';
import {
  estimateCostUsd,
  GUARDLENS_HOMEPAGE,
  getPreset,
  guardModelForProviderModel,
  isPresetId,
  listPresets,
  PRESET_IDS,
  validateBaseUrl,
} from './presets';

describe('presets', () => {
  it('has exactly the public ids', () => {
    expect([...PRESET_IDS]).toEqual([
      'openrouter',
      'groq',
      'together',
      'deepinfra',
      'fireworks',
      'ollama',
      'custom',
    ]);
    expect(listPresets().map((p) => p.id)).toEqual([...PRESET_IDS]);
    for (const id of PRESET_IDS) expect(getPreset(id).id).toBe(id);
  });

  it('isPresetId / getPreset reject unknown ids', () => {
    expect(isPresetId('groq')).toBe(true);
    expect(isPresetId('GROQ')).toBe(false);
    expect(isPresetId(3)).toBe(false);
    expect(() => getPreset('nope' as never)).toThrow(/Unknown provider preset/);
  });

  it('every preset is complete and consistent', () => {
    for (const p of listPresets()) {
      expect(p.label).toBeTruthy();
      expect(p.docsUrl).toMatch(/^https:\/\//);
      if (p.id === 'custom') expect(p.baseUrl).toBe('');
      else expect(validateBaseUrl(p.baseUrl).ok).toBe(true);
      for (const gid of Object.keys(p.models)) expect(GUARD_MODEL_IDS).toContain(gid);
      for (const gid of Object.keys(p.pricePerMTokens)) expect(Object.keys(p.models)).toContain(gid);
      expect(typeof p.sendBos).toBe('boolean');
    }
  });

  it('matches the provider table', () => {
    expect(getPreset('openrouter').models['llama-guard-4-12b']).toBe('meta-llama/llama-guard-4-12b');
    expect(getPreset('groq').raw).toBe(false);
    expect(getPreset('ollama').raw).toBe(false);
    expect(getPreset('ollama').keyRequired).toBe(false);
    expect(getPreset('custom').keyRequired).toBe(false);
    expect(getPreset('custom').sendBos).toBe(true);
    expect(getPreset('together').models['llama-guard-7b']).toBe('Meta-Llama/Llama-Guard-7b');
    expect(getPreset('together').models['llama-guard-3-11b-vision']).toBe(
      'meta-llama/Llama-Guard-3-11B-Vision-Turbo',
    );
    expect(getPreset('fireworks').models['llama-guard-3-1b']).toBe(
      'accounts/fireworks/models/llama-guard-3-1b',
    );
    expect(getPreset('deepinfra').baseUrl).toBe('https://api.deepinfra.com/v1/openai');
    expect(getPreset('ollama').models).toEqual({
      'llama-guard-3-1b': 'llama-guard3:1b',
      'llama-guard-3-8b': 'llama-guard3:8b',
    });
    expect(getPreset('openrouter').headers).toEqual({
      'HTTP-Referer': GUARDLENS_HOMEPAGE,
      'X-Title': 'Guardlens',
    });
    for (const id of ['openrouter', 'groq', 'together', 'deepinfra', 'fireworks'] as const) {
      expect(getPreset(id).keyRequired).toBe(true);
    }
  });

  it('finds the generation of a provider model id', () => {
    expect(guardModelForProviderModel('meta-llama/Llama-Guard-4-12B')).toBe('llama-guard-4-12b');
    expect(guardModelForProviderModel('llama-guard3:1b', 'ollama')).toBe('llama-guard-3-1b');
    expect(guardModelForProviderModel('llama-guard3:1b', 'groq')).toBeUndefined();
    expect(guardModelForProviderModel('something-else')).toBeUndefined();
  });
});

describe('validateBaseUrl', () => {
  it('accepts https anywhere and http on loopback', () => {
    expect(validateBaseUrl('https://api.example.com/v1')).toEqual({
      ok: true,
      origin: 'https://api.example.com',
    });
    expect(validateBaseUrl('  https://h.test:8443/openai/v1/  ')).toEqual({
      ok: true,
      origin: 'https://h.test:8443',
    });
    expect(validateBaseUrl('http://localhost:11434/v1')).toEqual({
      ok: true,
      origin: 'http://localhost:11434',
    });
    expect(validateBaseUrl('http://127.0.0.1:8000/v1')).toEqual({
      ok: true,
      origin: 'http://127.0.0.1:8000',
    });
    expect(validateBaseUrl('http://127.45.6.7/v1').ok).toBe(true);
    expect(validateBaseUrl('http://[::1]:8080/v1')).toEqual({ ok: true, origin: 'http://[::1]:8080' });
  });

  it('rejects plain http elsewhere, credentials, other schemes and junk', () => {
    const bad = [
      '',
      '   ',
      'api.example.com/v1',
      'http://api.example.com/v1',
      'http://192.168.1.10:11434/v1',
      'http://128.0.0.1/v1',
      'http://localhost.evil.test/v1',
      'http://127.0.0.1.nip.io/v1',
      'https://user:pass@api.example.com/v1',
      'https://user@api.example.com/v1',
      'ftp://api.example.com/v1',
      'javascript:alert(1)',
      'https://api.example.com/v1?key=1',
      'https://api.example.com/v1#x',
    ];
    for (const url of bad) {
      const r = validateBaseUrl(url);
      expect(r.ok, url).toBe(false);
      if (!r.ok) expect(r.error.length).toBeGreaterThan(10);
    }
    const r = validateBaseUrl('http://api.example.com/v1');
    expect(!r.ok && r.error).toMatch(/https/);
  });
});

describe('estimateCostUsd', () => {
  it('prices known models and returns undefined otherwise', () => {
    const usage = { promptTokens: 1_000_000, completionTokens: 500_000 };
    expect(estimateCostUsd('groq', 'llama-guard-4-12b', usage)).toBeCloseTo(0.3, 10);
    expect(
      estimateCostUsd('fireworks', 'llama-guard-3-1b', { promptTokens: 2000, completionTokens: 3 }),
    ).toBeCloseTo((2003 * 0.1) / 1e6, 12);
    expect(estimateCostUsd('ollama', 'llama-guard-3-1b', usage)).toBe(0);
    expect(estimateCostUsd('custom', 'llama-guard-4-12b', usage)).toBeUndefined();
    expect(estimateCostUsd('fireworks', 'llama-guard-3-8b', usage)).toBeUndefined();
    expect(estimateCostUsd(undefined, 'llama-guard-4-12b', usage)).toBeUndefined();
    expect(
      estimateCostUsd(getPreset('openrouter'), 'llama-guard-4-12b', {
        promptTokens: 100,
        completionTokens: 2,
      }),
    ).toBeCloseTo((102 * 0.2) / 1e6, 12);
  });
});
