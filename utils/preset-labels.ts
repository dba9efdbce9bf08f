/**
 * Provider presets whose names are words rather than brand names ("Custom endpoint", "Ollama (local)"): people
 * see them in their language, from the messages file. The others (OpenRouter, Groq…) are names, shown as they
 * are. Small and free of `lib/providers`, for the chatbot script too.
 */

/** Message keys of the descriptive preset names, by preset id. */
export const PRESET_LABEL_KEYS: Readonly<Record<string, string>> = {
  custom: 'preset_label_custom',
  ollama: 'preset_label_ollama',
};

/** Their English names, as `lib/providers/presets.ts` gives them (`utils/preset-labels.test.ts` keeps them equal). */
export const PRESET_LABELS_ENGLISH: ReadonlyMap<string, string> = new Map([
  ['Custom endpoint', 'preset_label_custom'],
  ['Ollama (local)', 'preset_label_ollama'],
]);

type GetMessage = (key: string, substitutions?: string[]) => string | undefined;

/**
 * `getMessage` whose values that are a descriptive preset's English name (lib names the provider in a sentence:
 * "Ollama (local) refused …") are put in the file's words first.
 */
export function withPresetLabels<G extends GetMessage>(getMessage: G): G {
  return ((key: string, substitutions?: string[]) => {
    if (!substitutions?.some((s) => PRESET_LABELS_ENGLISH.has(s))) return getMessage(key, substitutions);
    const subs = substitutions.map((s) => {
      const labelKey = PRESET_LABELS_ENGLISH.get(s);
      return (labelKey && getMessage(labelKey)) || s;
    });
    return getMessage(key, subs);
  }) as G;
}
