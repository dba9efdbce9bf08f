/**
 * Guardlens' settings: one typed object, its defaults, and a tolerant validator.
 *
 * Pure TypeScript (no extension APIs). The API key is deliberately not part of `Settings`: it is stored as its
 * own item, read only by the background, and left out of exports unless the person asks for it.
 */
import { GUARD_MODEL_IDS, type GuardModelId } from '../guard/types';
import { getPreset, PRESET_IDS, type PresetId, validateBaseUrl } from '../providers/presets';
import { hostMatches, hostOfUrl, normalizeHost, parseHostPattern } from './hosts';
import { problemText } from './problem-text';

export { hostMatches, hostOfUrl, normalizeHost, parseHostPattern } from './hosts';

export const REQUEST_MODES = ['chat', 'raw'] as const;
export type RequestMode = (typeof REQUEST_MODES)[number];

export const CATEGORY_ACTIONS = ['blur', 'hide', 'label', 'ignore'] as const;
export type CategoryAction = (typeof CATEGORY_ACTIONS)[number];
/** The action for a flagged category that has no entry in `categoryActions`. */
export const DEFAULT_CATEGORY_ACTION: CategoryAction = 'blur';

export const PROMPT_GUARD_MODES = ['block', 'warn', 'off'] as const;
export type PromptGuardMode = (typeof PROMPT_GUARD_MODES)[number];

export const FAIL_MODES = ['open', 'closed'] as const;
export type FailMode = (typeof FAIL_MODES)[number];

/** A category the person defines for models whose template accepts a custom category table. */
export interface CustomCategory {
  /** Code the model answers with, upper case: a letter then letters/digits (e.g. `S15`, `C1`). */
  code: string;
  name: string;
  description: string;
}

export interface Settings {
  /** Provider preset. */
  provider: PresetId;
  /** OpenAI-compatible base URL (no trailing slash). Empty only for a `custom` provider not yet set up. */
  baseUrl: string;
  /** The provider's model id (empty when the provider does not serve the chosen generation). */
  model: string;
  /** Which Llama Guard generation the model is. */
  guardModel: GuardModelId;
  requestMode: RequestMode;
  /** Raw mode: start the prompt with the begin-of-text token. */
  sendBos: boolean;
  customCategories: CustomCategory[];
  /** Category code → action; codes not listed get `DEFAULT_CATEGORY_ACTION`. */
  categoryActions: Record<string, CategoryAction>;
  scanText: boolean;
  scanImages: boolean;
  hideImagesUntilChecked: boolean;
  promptGuard: PromptGuardMode;
  /** Also check chatbots' replies. */
  checkReplies: boolean;
  /** What happens when the endpoint cannot answer: show content (`open`) or keep it hidden (`closed`). */
  failMode: FailMode;
  /** Host patterns never scanned (see `hosts.ts` for the matching rules). */
  excludedSites: string[];
  /** Exact hosts the person paused. */
  pausedSites: string[];
  /** Scan only when asked (context menu / popup), not on page load. */
  scanOnDemand: boolean;
  allowIncognito: boolean;
  /** Requests in flight per endpoint, 1–16. */
  concurrency: number;
  /** Daily spending limit in USD; 0 means no limit. */
  dailyBudgetUsd: number;
  budgetAppliesToPrompts: boolean;
  /** Token budget per chunk sent to the model, 200–100000. */
  chunkTokens: number;
  /** Chatbot site id → prompt guard on/off. Sites without an entry are on (`isChatbotSiteEnabled`). */
  chatbotSites: Record<string, boolean>;
  /** Extra host patterns treated as chatbots (generic composer detection). */
  extraChatbotSites: string[];
  historyEnabled: boolean;
}

export type SettingsKey = keyof Settings;

export const CONCURRENCY_MIN = 1;
export const CONCURRENCY_MAX = 16;
export const CHUNK_TOKENS_MIN = 200;
export const CHUNK_TOKENS_MAX = 100_000;
export const DAILY_BUDGET_MAX_USD = 1_000_000;
export const MAX_CUSTOM_CATEGORIES = 32;
export const MAX_SITE_PATTERNS = 1000;
export const MAX_MODEL_ID_LENGTH = 200;
export const MAX_CATEGORY_NAME_LENGTH = 120;
export const MAX_CATEGORY_DESCRIPTION_LENGTH = 1000;
export const MAX_API_KEY_LENGTH = 4096;

const CATEGORY_CODE_RE = /^[A-Z][A-Z0-9]{0,9}$/;
const CHATBOT_SITE_ID_RE = /^[a-z0-9][a-z0-9._-]{0,39}$/;

export const DEFAULT_PROVIDER: PresetId = 'openrouter';
export const DEFAULT_GUARD_MODEL: GuardModelId = 'llama-guard-4-12b';

function buildDefaults(): Settings {
  const preset = getPreset(DEFAULT_PROVIDER);
  return {
    provider: DEFAULT_PROVIDER,
    baseUrl: preset.baseUrl,
    model: preset.models[DEFAULT_GUARD_MODEL] ?? '',
    guardModel: DEFAULT_GUARD_MODEL,
    requestMode: 'chat',
    sendBos: preset.sendBos,
    customCategories: [],
    categoryActions: {},
    scanText: true,
    scanImages: true,
    hideImagesUntilChecked: false,
    promptGuard: 'block',
    checkReplies: false,
    failMode: 'open',
    excludedSites: [],
    pausedSites: [],
    scanOnDemand: false,
    allowIncognito: false,
    concurrency: 4,
    dailyBudgetUsd: 0,
    budgetAppliesToPrompts: false,
    chunkTokens: 2000,
    chatbotSites: {},
    extraChatbotSites: [],
    historyEnabled: true,
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** The defaults, frozen. Use `defaultSettings()` for a copy you may change. */
export const DEFAULT_SETTINGS: Readonly<Settings> = deepFreeze(buildDefaults());

/** A fresh, mutable copy of the defaults. */
export function defaultSettings(): Settings {
  return cloneSettings(DEFAULT_SETTINGS);
}

/** A deep copy of a settings object (every value in `Settings` is plain JSON). */
export function cloneSettings(settings: Readonly<Settings>): Settings {
  return {
    ...settings,
    customCategories: settings.customCategories.map((c) => ({ ...c })),
    categoryActions: { ...settings.categoryActions },
    excludedSites: [...settings.excludedSites],
    pausedSites: [...settings.pausedSites],
    chatbotSites: { ...settings.chatbotSites },
    extraChatbotSites: [...settings.extraChatbotSites],
  };
}

export const SETTINGS_KEYS: readonly SettingsKey[] = Object.freeze(
  Object.keys(DEFAULT_SETTINGS) as SettingsKey[],
);

export function isSettingsKey(x: unknown): x is SettingsKey {
  return typeof x === 'string' && (SETTINGS_KEYS as readonly string[]).includes(x);
}

// ---------------------------------------------------------------------------------------------------------------
// Field checks

/** How a value looks in a problem message: short and never huge. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  }
  return String(value);
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** The result of checking one field: its value plus notes on entries that were dropped, or why it was rejected. */
export type FieldCheck<T> = { ok: true; value: T; notes: string[] } | { ok: false; reason: string };

const accept = <T>(value: T, notes: string[] = []): FieldCheck<T> => ({ ok: true, value, notes });
const reject = (reason: string): FieldCheck<never> => ({ ok: false, reason });

function oneOf<T extends string>(allowed: readonly T[]) {
  return (value: unknown): FieldCheck<T> =>
    typeof value === 'string' && (allowed as readonly string[]).includes(value)
      ? accept(value as T)
      : reject(
          problemText(
            'settings_reason_one_of',
            allowed.map((a) => `"${a}"`).join(', '),
            describeValue(value),
          ),
        );
}

function bool(value: unknown): FieldCheck<boolean> {
  return typeof value === 'boolean'
    ? accept(value)
    : reject(problemText('settings_reason_boolean', describeValue(value)));
}

function intInRange(min: number, max: number) {
  return (value: unknown): FieldCheck<number> =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
      ? accept(value)
      : reject(problemText('settings_reason_whole_number', min, max, describeValue(value)));
}

function checkBaseUrl(value: unknown): FieldCheck<string> {
  if (typeof value !== 'string') return reject(problemText('settings_reason_url', describeValue(value)));
  const text = value.trim();
  const result = validateBaseUrl(text);
  if (!result.ok) return reject(problemText('settings_reason_not_usable', result.error.replace(/\.$/, '')));
  return accept(text.replace(/\/+$/, ''));
}

function checkModel(value: unknown): FieldCheck<string> {
  if (typeof value !== 'string') return reject(problemText('settings_reason_model_id', describeValue(value)));
  const text = value.trim();
  if (text.length > MAX_MODEL_ID_LENGTH)
    return reject(problemText('settings_reason_too_long', MAX_MODEL_ID_LENGTH));
  if (/[\s\u0000-\u001f\u007f]/.test(text)) return reject(problemText('settings_reason_no_spaces'));
  return accept(text);
}

/** Checks a category code and returns it upper-cased, or null. */
export function normalizeCategoryCode(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const code = value.trim().toUpperCase();
  return CATEGORY_CODE_RE.test(code) ? code : null;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function checkCustomCategories(value: unknown): FieldCheck<CustomCategory[]> {
  if (!Array.isArray(value))
    return reject(problemText('settings_reason_category_list', describeValue(value)));
  const notes: string[] = [];
  const out: CustomCategory[] = [];
  const seen = new Set<string>();
  value.forEach((entry, i) => {
    const where = i + 1;
    if (!isPlainObject(entry)) {
      notes.push(problemText('settings_problem_category_not_object', where));
      return;
    }
    const code = normalizeCategoryCode(entry.code);
    if (code === null) {
      notes.push(problemText('settings_problem_category_code', where, describeValue(entry.code)));
      return;
    }
    if (seen.has(code)) {
      notes.push(problemText('settings_problem_category_repeated', where, code));
      return;
    }
    const name = typeof entry.name === 'string' ? oneLine(entry.name) : '';
    if (!name || name.length > MAX_CATEGORY_NAME_LENGTH) {
      notes.push(problemText('settings_problem_category_name', where, code, MAX_CATEGORY_NAME_LENGTH));
      return;
    }
    if (entry.description !== undefined && typeof entry.description !== 'string') {
      notes.push(problemText('settings_problem_category_description_type', where, code));
      return;
    }
    const description = typeof entry.description === 'string' ? oneLine(entry.description) : '';
    if (description.length > MAX_CATEGORY_DESCRIPTION_LENGTH) {
      notes.push(
        problemText(
          'settings_problem_category_description_long',
          where,
          code,
          MAX_CATEGORY_DESCRIPTION_LENGTH,
        ),
      );
      return;
    }
    if (out.length >= MAX_CUSTOM_CATEGORIES) {
      notes.push(problemText('settings_problem_category_over_limit', where, code, MAX_CUSTOM_CATEGORIES));
      return;
    }
    seen.add(code);
    out.push({ code, name, description });
  });
  return accept(out, notes);
}

function checkCategoryActions(value: unknown): FieldCheck<Record<string, CategoryAction>> {
  if (!isPlainObject(value)) {
    return reject(problemText('settings_reason_category_map', describeValue(value)));
  }
  const notes: string[] = [];
  const out: Record<string, CategoryAction> = {};
  for (const [rawCode, action] of Object.entries(value)) {
    const code = normalizeCategoryCode(rawCode);
    if (code === null) {
      notes.push(problemText('settings_problem_action_code', describeValue(rawCode)));
      continue;
    }
    if (typeof action !== 'string' || !(CATEGORY_ACTIONS as readonly string[]).includes(action)) {
      notes.push(
        problemText(
          'settings_problem_action_value',
          code,
          CATEGORY_ACTIONS.map((a) => `"${a}"`).join(', '),
          describeValue(action),
        ),
      );
      continue;
    }
    out[code] = action as CategoryAction;
  }
  return accept(out, notes);
}

function siteList(kind: 'pattern' | 'host', key: string) {
  return (value: unknown): FieldCheck<string[]> => {
    if (!Array.isArray(value)) return reject(problemText('settings_reason_site_list', describeValue(value)));
    const notes: string[] = [];
    const out: string[] = [];
    for (const entry of value) {
      if (kind === 'pattern') {
        const parsed = parseHostPattern(entry);
        if (!parsed.ok) {
          notes.push(problemText('settings_problem_site_dropped', parsed.error, key));
          continue;
        }
        if (!out.includes(parsed.pattern)) out.push(parsed.pattern);
      } else {
        const host = typeof entry === 'string' ? normalizeHost(entry) : null;
        if (host === null) {
          notes.push(problemText('settings_problem_site_not_host', describeValue(entry), key));
          continue;
        }
        if (!out.includes(host)) out.push(host);
      }
      if (out.length > MAX_SITE_PATTERNS) {
        out.pop();
        notes.push(problemText('settings_problem_site_limit', key, MAX_SITE_PATTERNS));
        break;
      }
    }
    return accept(out, notes);
  };
}

function checkDailyBudget(value: unknown): FieldCheck<number> {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= DAILY_BUDGET_MAX_USD
    ? accept(value)
    : reject(problemText('settings_reason_budget', DAILY_BUDGET_MAX_USD, describeValue(value)));
}

function checkChatbotSites(value: unknown): FieldCheck<Record<string, boolean>> {
  if (!isPlainObject(value)) return reject(problemText('settings_reason_chatbot_map', describeValue(value)));
  const notes: string[] = [];
  const out: Record<string, boolean> = {};
  for (const [id, on] of Object.entries(value)) {
    if (!CHATBOT_SITE_ID_RE.test(id)) {
      notes.push(problemText('settings_problem_chatbot_id', describeValue(id)));
      continue;
    }
    if (typeof on !== 'boolean') {
      notes.push(problemText('settings_problem_chatbot_value', id, describeValue(on)));
      continue;
    }
    out[id] = on;
  }
  return accept(out, notes);
}

const FIELD_CHECKS: { [K in SettingsKey]: (value: unknown) => FieldCheck<Settings[K]> } = {
  provider: oneOf(PRESET_IDS),
  baseUrl: checkBaseUrl,
  model: checkModel,
  guardModel: oneOf(GUARD_MODEL_IDS),
  requestMode: oneOf(REQUEST_MODES),
  sendBos: bool,
  customCategories: checkCustomCategories,
  categoryActions: checkCategoryActions,
  scanText: bool,
  scanImages: bool,
  hideImagesUntilChecked: bool,
  promptGuard: oneOf(PROMPT_GUARD_MODES),
  checkReplies: bool,
  failMode: oneOf(FAIL_MODES),
  excludedSites: siteList('pattern', 'excludedSites'),
  pausedSites: siteList('host', 'pausedSites'),
  scanOnDemand: bool,
  allowIncognito: bool,
  concurrency: intInRange(CONCURRENCY_MIN, CONCURRENCY_MAX),
  dailyBudgetUsd: checkDailyBudget,
  budgetAppliesToPrompts: bool,
  chunkTokens: intInRange(CHUNK_TOKENS_MIN, CHUNK_TOKENS_MAX),
  chatbotSites: checkChatbotSites,
  extraChatbotSites: siteList('pattern', 'extraChatbotSites'),
  historyEnabled: bool,
};

/** Checks one field on its own (no cross-field rules). */
export function checkSettingsField<K extends SettingsKey>(key: K, value: unknown): FieldCheck<Settings[K]> {
  return FIELD_CHECKS[key](value);
}

function unknownKeyProblem(key: string): string {
  if (key === 'apiKey') return problemText('settings_problem_api_key_in_settings');
  return problemText('settings_problem_unknown_key', describeValue(key));
}

/**
 * Checks a partial settings object field by field. Valid fields are kept (entries of lists and maps that are
 * bad are dropped on their own); bad fields are left out. `verb` finishes the message for a rejected field.
 */
export function checkSettingsPatch(
  input: unknown,
  verb = problemText('settings_outcome_ignored'),
): { patch: Partial<Settings>; problems: string[] } {
  const problems: string[] = [];
  const patch: Partial<Settings> = {};
  if (input === undefined || input === null) return { patch, problems };
  if (!isPlainObject(input)) {
    problems.push(problemText('settings_problem_not_object', describeValue(input)));
    return { patch, problems };
  }
  for (const [key, value] of Object.entries(input)) {
    if (!isSettingsKey(key)) {
      problems.push(unknownKeyProblem(key));
      continue;
    }
    if (value === undefined) continue;
    if (key === 'baseUrl' && typeof value === 'string' && value.trim() === '') {
      // An empty base URL means "not chosen" (the provider's default, or not set up yet for `custom`).
      patch.baseUrl = '';
      continue;
    }
    const result = checkSettingsField(key, value);
    if (result.ok) {
      (patch as Record<string, unknown>)[key] = result.value;
      problems.push(...result.notes);
    } else {
      problems.push(problemText('settings_problem_field', key, result.reason, verb));
    }
  }
  return { patch, problems };
}

/**
 * Turns anything (a stored value, an import, garbage) into complete, valid settings. Never throws.
 *
 * Missing fields get defaults without a problem; a bad field falls back to its default and a problem says so.
 * Provider-dependent defaults follow the chosen provider: a missing or bad `baseUrl` becomes the preset's,
 * a missing or bad `model` becomes the preset's id for `guardModel`, a missing `sendBos` the preset's.
 * Raw mode with a provider that does not honour raw prompts (Groq, Ollama) falls back to chat mode.
 */
export function normalizeSettings(input: unknown): { settings: Settings; problems: string[] } {
  const problems: string[] = [];
  const settings = defaultSettings();
  const given: Record<string, unknown> = isPlainObject(input) ? input : {};
  if (input !== undefined && input !== null && !isPlainObject(input)) {
    problems.push(problemText('settings_problem_not_object_defaults', describeValue(input)));
  }
  for (const [key, value] of Object.entries(given)) {
    if (!isSettingsKey(key)) {
      problems.push(unknownKeyProblem(key));
      continue;
    }
    if (value === undefined) continue;
    // An empty base URL or model means "not chosen": the provider's default applies below, without a problem.
    if ((key === 'baseUrl' || key === 'model') && typeof value === 'string' && value.trim() === '') continue;
    const result = checkSettingsField(key, value);
    if (result.ok) {
      (settings as unknown as Record<string, unknown>)[key] = result.value;
      problems.push(...result.notes);
      continue;
    }
    const dependent = key === 'baseUrl' || key === 'model' || key === 'sendBos';
    const fallback = dependent
      ? problemText('settings_outcome_provider_default')
      : problemText('settings_outcome_default', describeValue(DEFAULT_SETTINGS[key]));
    problems.push(problemText('settings_problem_field', key, result.reason, fallback));
  }

  const accepted = (key: SettingsKey) => {
    const value = given[key];
    if (value === undefined) return false;
    if ((key === 'baseUrl' || key === 'model') && typeof value === 'string' && value.trim() === '')
      return false;
    return checkSettingsField(key, value).ok;
  };
  const preset = getPreset(settings.provider);
  if (!accepted('baseUrl')) settings.baseUrl = preset.baseUrl;
  if (!accepted('model')) settings.model = preset.models[settings.guardModel] ?? '';
  if (!accepted('sendBos')) settings.sendBos = preset.sendBos;
  if (settings.requestMode === 'raw' && !preset.raw) {
    problems.push(problemText('settings_problem_raw_to_chat', preset.label));
    settings.requestMode = 'chat';
  }
  return { settings, problems };
}

/**
 * Adds what a change of provider or generation implies when `patch` does not say it itself:
 * - a new provider brings its preset's base URL (a `custom` provider brings none: the base URL is cleared so the
 *   person enters theirs);
 * - a new provider or generation brings the preset's model id for that generation (cleared when the provider
 *   does not serve it; kept for `custom`, whose model ids are the person's own);
 * - a new provider that does not take raw prompts switches raw mode to chat.
 * Values in `patch` always win. Returns a new patch; `current` is not changed.
 */
export function completePatch(current: Readonly<Settings>, patch: Partial<Settings>): Partial<Settings> {
  const out: Partial<Settings> = { ...patch };
  const provider = patch.provider ?? current.provider;
  const guardModel = patch.guardModel ?? current.guardModel;
  const preset = getPreset(provider);
  const providerChanged = patch.provider !== undefined && patch.provider !== current.provider;
  const generationChanged = patch.guardModel !== undefined && patch.guardModel !== current.guardModel;
  if (providerChanged && patch.baseUrl === undefined) out.baseUrl = preset.baseUrl;
  if ((providerChanged || generationChanged) && patch.model === undefined) {
    const presetModel = preset.models[guardModel];
    if (presetModel) out.model = presetModel;
    else if (provider !== 'custom') out.model = '';
  }
  if (providerChanged && !preset.raw && patch.requestMode === undefined && current.requestMode === 'raw') {
    out.requestMode = 'chat';
  }
  return out;
}

/** Thrown when settings someone tries to save are not valid; `problems` says what and why. */
export class SettingsValidationError extends Error {
  override name = 'SettingsValidationError';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.length === 1 ? problems[0]! : `The settings were not saved:\n- ${problems.join('\n- ')}`);
    this.problems = problems;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// API key

/** Checks an API key people typed or imported: trimmed, printable, no spaces. An empty key is allowed. */
export function checkApiKey(value: unknown): { ok: true; key: string } | { ok: false; error: string } {
  if (typeof value !== 'string')
    return { ok: false, error: problemText('settings_problem_api_key_type', describeValue(value)) };
  const key = value.trim();
  if (key.length > MAX_API_KEY_LENGTH) {
    return { ok: false, error: problemText('settings_problem_api_key_long', MAX_API_KEY_LENGTH) };
  }
  if (/[^\x21-\x7e]/.test(key)) {
    return { ok: false, error: problemText('settings_problem_api_key_chars') };
  }
  return { ok: true, key };
}

// ---------------------------------------------------------------------------------------------------------------
// Sites

/** True when the URL's host matches one of `excludedSites`. Non-http(s) and unparsable URLs are not excluded. */
export function isSiteExcluded(settings: Pick<Settings, 'excludedSites'>, url: string | URL): boolean {
  const host = hostOfUrl(url);
  if (host === null) return false;
  return settings.excludedSites.some((pattern) => hostMatches(pattern, host));
}

/** True when the URL's host is one the person paused (exact host). */
export function isSitePaused(settings: Pick<Settings, 'pausedSites'>, url: string | URL): boolean {
  const host = hostOfUrl(url);
  if (host === null) return false;
  return settings.pausedSites.some((paused) => normalizeHost(paused) === host);
}

/** Why a page is or is not scanned, as far as the site lists go. Exclusion wins over pausing. */
export function siteState(
  settings: Pick<Settings, 'excludedSites' | 'pausedSites'>,
  url: string | URL,
): 'excluded' | 'paused' | 'active' {
  if (isSiteExcluded(settings, url)) return 'excluded';
  if (isSitePaused(settings, url)) return 'paused';
  return 'active';
}

/** Prompt guard on a known chatbot site: on unless the person turned that site off. */
export function isChatbotSiteEnabled(settings: Pick<Settings, 'chatbotSites'>, siteId: string): boolean {
  return settings.chatbotSites[siteId] !== false;
}

/** The action for a flagged category code (`DEFAULT_CATEGORY_ACTION` when the person set none). */
export function actionForCategory(settings: Pick<Settings, 'categoryActions'>, code: string): CategoryAction {
  const normalized = normalizeCategoryCode(code);
  return (normalized !== null ? settings.categoryActions[normalized] : undefined) ?? DEFAULT_CATEGORY_ACTION;
}

// ---------------------------------------------------------------------------------------------------------------
// Fingerprint

/** 64-bit FNV-1a over UTF-8, as 16 hex digits. Not cryptographic: a compact, stable cache key. */
function fnv1a64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let hash = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  const mask = 0xffffffffffffffffn;
  for (const byte of bytes) {
    hash ^= BigInt(byte);
    hash = (hash * prime) & mask;
  }
  return hash.toString(16).padStart(16, '0');
}

/**
 * A stable string that changes whenever a setting that can change a verdict changes: the generation, the
 * provider's model, the request mode, the endpoint (base URL), the custom categories (in order: the prompt
 * lists them in order) and, in raw mode, the begin-of-text token. Display-only settings (actions, sites,
 * budgets) do not change it. Used to key the verdict cache.
 */
export function settingsFingerprint(
  settings: Pick<
    Settings,
    'guardModel' | 'model' | 'requestMode' | 'baseUrl' | 'customCategories' | 'sendBos'
  >,
): string {
  const canonical = JSON.stringify([
    'guardlens-verdict-v1',
    settings.guardModel,
    settings.model.trim(),
    settings.requestMode,
    settings.baseUrl.trim().replace(/\/+$/, ''),
    settings.requestMode === 'raw' ? settings.sendBos : null,
    settings.customCategories.map((c) => [c.code, c.name, c.description]),
  ]);
  return `v1-${fnv1a64(canonical)}`;
}
