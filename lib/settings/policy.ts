/**
 * Managed policy: settings an organisation sets for Guardlens through the browser's enterprise policies
 * (Chrome's `storage.managed`, described by `public/managed_schema.json`; Firefox's `policies.json`).
 *
 * `parseManagedPolicy` turns whatever the browser hands over into a typed policy, dropping bad values with a
 * problem message. `applyPolicy` lays the policy over the person's own settings. Pure TypeScript.
 */
import { GUARD_MODEL_IDS, type GuardModelId } from '../guard/types';
import { getPreset, PRESET_IDS, type PresetId } from '../providers/presets';
import { problemText } from './problem-text';
import {
  CATEGORY_ACTIONS,
  type CategoryAction,
  checkApiKey,
  checkSettingsField,
  cloneSettings,
  completePatch,
  describeValue,
  FAIL_MODES,
  type FailMode,
  normalizeSettings,
  PROMPT_GUARD_MODES,
  type PromptGuardMode,
  REQUEST_MODES,
  type RequestMode,
  type Settings,
  type SettingsKey,
} from './schema';

/** Every key a managed policy may set, in the order the documentation lists them. */
export const POLICY_KEYS = [
  'provider',
  'baseUrl',
  'apiKey',
  'model',
  'guardModel',
  'requestMode',
  'promptGuard',
  'failMode',
  'excludedSites',
  'categoryActions',
  'lockSettings',
] as const;
export type PolicyKey = (typeof POLICY_KEYS)[number];

/** The allowed values of the policy's enumerated keys (the managed schema must list the same). */
export const POLICY_ENUMS = {
  provider: PRESET_IDS,
  guardModel: GUARD_MODEL_IDS,
  requestMode: REQUEST_MODES,
  promptGuard: PROMPT_GUARD_MODES,
  failMode: FAIL_MODES,
} as const satisfies Partial<Record<PolicyKey, readonly string[]>>;

/** The allowed actions of `categoryActions` entries. */
export const POLICY_CATEGORY_ACTIONS = CATEGORY_ACTIONS;

/** The JSON type of each policy key, as the managed schema declares it. */
export const POLICY_KEY_TYPES: Readonly<Record<PolicyKey, 'string' | 'boolean' | 'array' | 'object'>> = {
  provider: 'string',
  baseUrl: 'string',
  apiKey: 'string',
  model: 'string',
  guardModel: 'string',
  requestMode: 'string',
  promptGuard: 'string',
  failMode: 'string',
  excludedSites: 'array',
  categoryActions: 'object',
  lockSettings: 'boolean',
};

export interface ManagedPolicy {
  provider?: PresetId;
  baseUrl?: string;
  apiKey?: string;
  model?: string;
  guardModel?: GuardModelId;
  requestMode?: RequestMode;
  promptGuard?: PromptGuardMode;
  failMode?: FailMode;
  excludedSites?: string[];
  categoryActions?: Record<string, CategoryAction>;
  /** Lock every key the policy sets, so the person cannot change it. */
  lockSettings?: boolean;
}

/** A key the policy can manage: a settings key or the API key. */
export type ManagedKey = SettingsKey | 'apiKey';

/** What the interface shows beside a locked setting. */
export const POLICY_LOCK_REASON = "Set by your organisation's policy";

export function isPolicyKey(x: unknown): x is PolicyKey {
  return typeof x === 'string' && (POLICY_KEYS as readonly string[]).includes(x);
}

/**
 * Reads a managed policy from whatever the browser returned. Never throws: a missing policy is an empty one,
 * unknown keys and bad values are dropped with a problem message each, and the rest is kept.
 */
export function parseManagedPolicy(raw: unknown): { policy: ManagedPolicy; problems: string[] } {
  const policy: ManagedPolicy = {};
  const problems: string[] = [];
  if (raw === undefined || raw === null) return { policy, problems };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push(problemText('settings_policy_not_object', describeValue(raw)));
    return { policy, problems };
  }
  const target = policy as Record<string, unknown>;
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!isPolicyKey(key)) {
      problems.push(problemText('settings_policy_unknown_key', describeValue(key)));
      continue;
    }
    if (value === undefined || value === null) continue;
    if (key === 'lockSettings') {
      if (typeof value === 'boolean') policy.lockSettings = value;
      else problems.push(problemText('settings_policy_lock', describeValue(value)));
      continue;
    }
    if (key === 'apiKey') {
      const result = checkApiKey(value);
      if (!result.ok) problems.push(problemText('settings_policy_api_key', result.error));
      else if (result.key === '') problems.push(problemText('settings_policy_api_key_empty'));
      else policy.apiKey = result.key;
      continue;
    }
    if (key === 'model' && typeof value === 'string' && value.trim() === '') {
      problems.push(problemText('settings_policy_model_empty'));
      continue;
    }
    const result = checkSettingsField(key, value);
    if (!result.ok) {
      problems.push(problemText('settings_policy_field', key, result.reason));
      continue;
    }
    for (const note of result.notes) problems.push(problemText('settings_policy_note', note));
    target[key] = result.value;
  }
  if (policy.provider === 'custom' && policy.baseUrl === undefined) {
    problems.push(problemText('settings_policy_custom_no_url'));
  }
  if (policy.provider !== undefined && policy.requestMode === 'raw' && !getPreset(policy.provider).raw) {
    problems.push(problemText('settings_policy_raw', getPreset(policy.provider).label));
    delete policy.requestMode;
  }
  return { policy, problems };
}

export interface EffectiveSettings {
  settings: Settings;
  apiKey: string;
  /** Keys whose value comes from the policy. */
  managedKeys: Set<ManagedKey>;
  /** Keys the person may not change (`lockSettings`); shown with `POLICY_LOCK_REASON`. */
  locked: Set<ManagedKey>;
}

const SETTINGS_POLICY_KEYS = POLICY_KEYS.filter(
  (key): key is Exclude<PolicyKey, 'apiKey' | 'lockSettings'> => key !== 'apiKey' && key !== 'lockSettings',
);

/**
 * Lays a policy over the person's settings: every value the policy sets replaces the local one. With
 * `lockSettings`, every key the policy set is locked.
 *
 * Derived values (see `completePatch`): a policy `provider` without a `baseUrl` brings the preset's base URL,
 * which is then managed like the provider (a `custom` provider has none: the URL is cleared for the person to
 * enter, unless they already use `custom`). When the policy changes the provider or the generation and sets no
 * `model`, the model becomes the preset's id for that generation (empty when the provider does not serve it),
 * so the person is never left with another provider's model id. The result is always valid settings.
 */
export function applyPolicy(local: Settings, localApiKey: string, policy: ManagedPolicy): EffectiveSettings {
  const managedKeys = new Set<ManagedKey>();
  const patch: Record<string, unknown> = {};
  for (const key of SETTINGS_POLICY_KEYS) {
    const value = policy[key];
    if (value === undefined) continue;
    patch[key] = Array.isArray(value) ? [...value] : typeof value === 'object' ? { ...value } : value;
    managedKeys.add(key);
  }
  const completed = completePatch(local, patch as Partial<Settings>);
  if (policy.provider !== undefined && policy.baseUrl === undefined && completed.baseUrl)
    managedKeys.add('baseUrl');
  const settings = normalizeSettings({ ...cloneSettings(local), ...completed }).settings;

  let apiKey = localApiKey;
  if (policy.apiKey !== undefined) {
    apiKey = policy.apiKey;
    managedKeys.add('apiKey');
  }
  const locked = policy.lockSettings ? new Set(managedKeys) : new Set<ManagedKey>();
  return { settings, apiKey, managedKeys, locked };
}

/** The policy restricted to some keys (used to apply only the values that changed since last time). */
export function pickPolicy(policy: ManagedPolicy, keys: Iterable<PolicyKey>): ManagedPolicy {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    if (policy[key] !== undefined) out[key] = policy[key];
  }
  return out as ManagedPolicy;
}
