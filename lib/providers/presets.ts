/**
 * The OpenAI-compatible providers Guardlens knows how to talk to, with the model id each one uses for every
 * Llama Guard generation it serves, what it supports, and what it charges.
 */
import type { GuardModelId } from '../guard/types';
import { problemText } from '../settings/problem-text';

export const PRESET_IDS = [
  'openrouter',
  'groq',
  'together',
  'deepinfra',
  'fireworks',
  'ollama',
  'custom',
] as const;
export type PresetId = (typeof PRESET_IDS)[number];

/** The project's homepage, sent to providers that ask who is calling. */
export const GUARDLENS_HOMEPAGE = 'https://guardlens.dev';

export interface TokenPrice {
  /** USD per million prompt tokens. */
  input: number;
  /** USD per million completion tokens. */
  output: number;
}

export interface ProviderPreset {
  id: PresetId;
  label: string;
  /** OpenAI-compatible base URL, ending in the API version (empty for `custom`). */
  baseUrl: string;
  /** The provider's model id for each generation it serves. */
  models: Partial<Record<GuardModelId, string>>;
  /** Honours raw `/completions` (the prompt reaches the model untouched). */
  raw: boolean;
  /** Accepts images in chat messages (for models that take them). */
  images: boolean;
  /** A raw prompt should start with the begin-of-text token (false where the server adds it itself). */
  sendBos: boolean;
  /** Prices per million tokens, per generation, where known. */
  pricePerMTokens: Partial<Record<GuardModelId, TokenPrice>>;
  headers?: Record<string, string>;
  keyRequired: boolean;
  docsUrl: string;
  /** One line for people choosing a provider. */
  note?: string;
}

// Prices: the providers' list prices seen late 2025 to 2026 spread over a small range; Guardlens uses the top
// of that range so estimates do not understate the cost.
const LG4_PRICE: TokenPrice = { input: 0.2, output: 0.2 };
const LG3_1B_PRICE: TokenPrice = { input: 0.1, output: 0.1 };
const LG2_PRICE: TokenPrice = { input: 0.2, output: 0.2 };
const FREE: TokenPrice = { input: 0, output: 0 };

const PRESETS: Readonly<Record<PresetId, ProviderPreset>> = {
  openrouter: {
    id: 'openrouter',
    label: 'OpenRouter',
    baseUrl: 'https://openrouter.ai/api/v1',
    models: {
      'llama-guard-4-12b': 'meta-llama/llama-guard-4-12b',
      'llama-guard-3-8b': 'meta-llama/llama-guard-3-8b',
      'llama-guard-2-8b': 'meta-llama/llama-guard-2-8b',
    },
    raw: true,
    images: true,
    sendBos: true,
    pricePerMTokens: { 'llama-guard-4-12b': LG4_PRICE, 'llama-guard-2-8b': LG2_PRICE },
    headers: { 'HTTP-Referer': GUARDLENS_HOMEPAGE, 'X-Title': 'Guardlens' },
    keyRequired: true,
    docsUrl: 'https://openrouter.ai/docs',
  },
  groq: {
    id: 'groq',
    label: 'Groq',
    baseUrl: 'https://api.groq.com/openai/v1',
    models: { 'llama-guard-4-12b': 'meta-llama/llama-guard-4-12b' },
    raw: false,
    images: true,
    sendBos: true,
    pricePerMTokens: { 'llama-guard-4-12b': LG4_PRICE },
    keyRequired: true,
    docsUrl: 'https://console.groq.com/docs',
    note: 'Chat mode only; Llama Guard 3 8B is deprecated there.',
  },
  together: {
    id: 'together',
    label: 'Together AI',
    baseUrl: 'https://api.together.xyz/v1',
    models: {
      'llama-guard-4-12b': 'meta-llama/Llama-Guard-4-12B',
      'llama-guard-3-8b': 'meta-llama/Meta-Llama-Guard-3-8B',
      'llama-guard-3-11b-vision': 'meta-llama/Llama-Guard-3-11B-Vision-Turbo',
      'llama-guard-2-8b': 'meta-llama/LlamaGuard-2-8b',
      'llama-guard-7b': 'Meta-Llama/Llama-Guard-7b',
    },
    raw: true,
    images: true,
    sendBos: true,
    pricePerMTokens: { 'llama-guard-4-12b': LG4_PRICE, 'llama-guard-2-8b': LG2_PRICE },
    keyRequired: true,
    docsUrl: 'https://docs.together.ai',
    note: 'Its chat endpoint applies its own templates; raw mode sends the official prompt.',
  },
  deepinfra: {
    id: 'deepinfra',
    label: 'DeepInfra',
    baseUrl: 'https://api.deepinfra.com/v1/openai',
    models: {
      'llama-guard-4-12b': 'meta-llama/Llama-Guard-4-12B',
      'llama-guard-3-8b': 'meta-llama/Llama-Guard-3-8B',
    },
    raw: true,
    images: true,
    sendBos: true,
    pricePerMTokens: { 'llama-guard-4-12b': LG4_PRICE },
    keyRequired: true,
    docsUrl: 'https://deepinfra.com/docs',
  },
  fireworks: {
    id: 'fireworks',
    label: 'Fireworks AI',
    baseUrl: 'https://api.fireworks.ai/inference/v1',
    models: {
      'llama-guard-3-8b': 'accounts/fireworks/models/llama-guard-3-8b',
      'llama-guard-3-1b': 'accounts/fireworks/models/llama-guard-3-1b',
      'llama-guard-2-8b': 'accounts/fireworks/models/llama-guard-2-8b',
    },
    raw: true,
    images: false,
    sendBos: true,
    pricePerMTokens: { 'llama-guard-3-1b': LG3_1B_PRICE, 'llama-guard-2-8b': LG2_PRICE },
    keyRequired: true,
    docsUrl: 'https://docs.fireworks.ai',
  },
  ollama: {
    id: 'ollama',
    label: 'Ollama (local)',
    baseUrl: 'http://localhost:11434/v1',
    models: { 'llama-guard-3-1b': 'llama-guard3:1b', 'llama-guard-3-8b': 'llama-guard3:8b' },
    raw: false,
    images: false,
    sendBos: true,
    pricePerMTokens: { 'llama-guard-3-1b': FREE, 'llama-guard-3-8b': FREE },
    keyRequired: false,
    docsUrl: 'https://github.com/ollama/ollama/blob/main/docs/faq.md',
    note: 'Runs on this computer. Set OLLAMA_ORIGINS so it accepts the extension, and a context window large enough for long pages.',
  },
  custom: {
    id: 'custom',
    label: 'Custom endpoint',
    baseUrl: '',
    models: {},
    raw: true,
    images: true,
    sendBos: true,
    pricePerMTokens: {},
    keyRequired: false,
    docsUrl: 'https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html',
    note: 'Any OpenAI-compatible server (vLLM, llama.cpp, LM Studio…). Turn off the begin-of-text token for llama.cpp, which adds it itself.',
  },
};

export function isPresetId(x: unknown): x is PresetId {
  return typeof x === 'string' && (PRESET_IDS as readonly string[]).includes(x);
}

export function getPreset(id: PresetId): ProviderPreset {
  const preset = isPresetId(id) ? PRESETS[id] : undefined;
  if (!preset) throw new Error(`Unknown provider preset "${String(id)}"; known: ${PRESET_IDS.join(', ')}`);
  return preset;
}

export function listPresets(): ProviderPreset[] {
  return PRESET_IDS.map((id) => PRESETS[id]);
}

/** The generation a provider's model id belongs to, from the preset tables (case-insensitive). */
export function guardModelForProviderModel(
  providerModel: string,
  presetId?: PresetId,
): GuardModelId | undefined {
  const wanted = providerModel.trim().toLowerCase();
  const presets = presetId ? [getPreset(presetId)] : listPresets();
  for (const preset of presets) {
    for (const [gid, pid] of Object.entries(preset.models)) {
      if (pid && pid.toLowerCase() === wanted) return gid as GuardModelId;
    }
  }
  return undefined;
}

function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  if (h === 'localhost' || h === '[::1]') return true;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return !!m && m[1] === '127' && m.slice(1).every((p) => Number(p) <= 255);
}

/**
 * Checks a base URL people typed: https (plain http only for loopback addresses), no credentials, no query or
 * fragment. Returns the origin (what the extension asks a host permission for).
 */
export function validateBaseUrl(url: string): { ok: true; origin: string } | { ok: false; error: string } {
  const text = typeof url === 'string' ? url.trim() : '';
  if (!text) return { ok: false, error: problemText('settings_base_url_empty') };
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return { ok: false, error: problemText('settings_base_url_not_url', text) };
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    return { ok: false, error: problemText('settings_base_url_scheme', parsed.protocol) };
  }
  if (parsed.username || parsed.password) {
    return { ok: false, error: problemText('settings_base_url_credentials') };
  }
  if (parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname)) {
    return { ok: false, error: problemText('settings_base_url_https') };
  }
  if (parsed.search || parsed.hash || /[?#]/.test(text)) {
    return { ok: false, error: problemText('settings_base_url_query') };
  }
  return { ok: true, origin: parsed.origin };
}

/**
 * The host-permission match pattern that covers an origin (`https://host/*`: no port, which Firefox's match
 * patterns do not take and Chrome's match every port without).
 */
export function originPattern(origin: string): string {
  const url = new URL(origin);
  return `${url.protocol}//${url.hostname}/*`;
}

/** An endpoint's origin and the pattern that covers it; null for a base URL Guardlens cannot use. */
export function endpointOriginPattern(baseUrl: string): { origin: string; pattern: string } | null {
  const checked = validateBaseUrl(baseUrl);
  return checked.ok ? { origin: checked.origin, pattern: originPattern(checked.origin) } : null;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

/** Cost of one call in USD, or undefined when the provider's price for that generation is not known. */
export function estimateCostUsd(
  preset: PresetId | ProviderPreset | undefined,
  guardModelId: GuardModelId,
  usage: TokenUsage,
): number | undefined {
  if (preset === undefined) return undefined;
  const p = typeof preset === 'string' ? (isPresetId(preset) ? getPreset(preset) : undefined) : preset;
  const price = p?.pricePerMTokens[guardModelId];
  if (!price) return undefined;
  const input = Math.max(0, usage.promptTokens || 0);
  const output = Math.max(0, usage.completionTokens || 0);
  return (input * price.input + output * price.output) / 1_000_000;
}
