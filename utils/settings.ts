/**
 * Guardlens' settings store for the extension's own pages and background, on `@wxt-dev/storage`.
 *
 * - `local:settings` holds the person's settings (versioned; values may be partial or from older versions and
 *   always go through `normalizeSettings`).
 * - `local:apiKey` holds the API key, in `storage.local` only: never `sync` or `session`, never logged.
 * - `storage.managed` holds the organisation's policy, if any (Firefox rejects `get()` when there is none;
 *   Chrome may lack the area: both mean "no policy").
 * - `local:policyApplied` remembers which policy values were already written into the person's settings.
 *
 * How a policy applies: with `lockSettings`, every key it sets is forced and locked (saves are refused). Without
 * it, each value the policy sets is written into the person's settings once, when it first appears or when the
 * administrator changes it, with no click from the person; after that the person may change it (the key stays in
 * `managedKeys`, for the interface to say where the value came from).
 */
import { storage } from '@wxt-dev/storage';
import { browser } from 'wxt/browser';
import {
  applyPolicy,
  type ManagedKey,
  type ManagedPolicy,
  type PolicyKey,
  parseManagedPolicy,
  pickPolicy,
} from '@/lib/settings/policy';
import { problemText } from '@/lib/settings/problem-text';
import {
  checkApiKey,
  checkSettingsField,
  checkSettingsPatch,
  completePatch,
  DEFAULT_SETTINGS,
  isSettingsKey,
  normalizeSettings,
  type Settings,
  type SettingsKey,
  SettingsValidationError,
} from '@/lib/settings/schema';

/** The version of the stored settings object. Raise it and add a migration when the shape changes. */
export const SETTINGS_VERSION = 1;

/** What may be found under `local:settings`: a full object, a partial one, or anything an older build wrote. */
export type StoredSettings = Partial<Settings> | Settings;

/** A migration turns the value stored at version `n - 1` into the value for version `n`. */
export type SettingsMigration = (old: unknown) => unknown;

/**
 * Migrations by target version. Empty at version 1; version 2 adds `2: (old) => …` here. Migrated values still
 * go through `normalizeSettings`, so a migration only has to move or rename what changed.
 */
export const SETTINGS_MIGRATIONS: Record<number, SettingsMigration> = {};

/** Defines the `local:settings` item at a version, with migrations (the store uses the current ones). */
export function defineSettingsItem(
  version: number = SETTINGS_VERSION,
  migrations: Record<number, SettingsMigration> = SETTINGS_MIGRATIONS,
) {
  return storage.defineItem<StoredSettings>('local:settings', {
    version,
    fallback: DEFAULT_SETTINGS,
    migrations: migrations as Record<number, (old: StoredSettings) => StoredSettings>,
  });
}

export const settingsItem = defineSettingsItem();

export const apiKeyItem = storage.defineItem<string>('local:apiKey', { fallback: '' });

/** Policy key → JSON of the value last written into the person's settings (unlocked policies only). */
export const policyAppliedItem = storage.defineItem<Partial<Record<PolicyKey, string>>>(
  'local:policyApplied',
  {
    fallback: {},
  },
);

/**
 * Whether the last answer of the managed area held a policy: only then (or while nothing is configured) does a
 * starting background wait for Chrome's late first answer (`entrypoints/background/host.ts`). Holds no policy value.
 */
export const policySeenItem = storage.defineItem<boolean>('local:policySeen', { fallback: false });

/** Keeps `policySeenItem` in step with an answer of the managed area. */
function notePolicySeen(policy: ManagedPolicy): void {
  const seen = Object.keys(policy).length > 0;
  void policySeenItem
    .getValue()
    .then((was) => (was === seen ? undefined : policySeenItem.setValue(seen)))
    .catch(() => undefined);
}

export interface EffectiveState {
  settings: Settings;
  /** The API key to use (the policy's, when it sets one). */
  apiKey: string;
  /** Keys the organisation's policy sets. */
  managedKeys: Set<ManagedKey>;
  /** Keys the person may not change. */
  locked: Set<ManagedKey>;
  /** What was wrong with the stored settings or the policy (bad values fall back to defaults). */
  problems: string[];
}

/**
 * How long a read of the managed area may take. Chrome was seen to leave `storage.managed.get()` unanswered when
 * it is called while its service worker starts; a later call answers at once.
 */
export const MANAGED_READ_TIMEOUT_MS = 500;
const MANAGED_RETRY_MAX_MS = 60_000;

type ManagedArea = { get: () => Promise<unknown> };
const TIMED_OUT = Symbol('timed out');

/** Watchers to wake when a managed read that timed out finally gets an answer. */
const managedLateListeners = new Set<() => void>();
let managedRetry: ReturnType<typeof setTimeout> | undefined;

/**
 * True from a managed read that did not answer in time until the area answers one: Chrome answers the managed
 * area late for a few seconds after the browser starts. Meanwhile a read (a settings change the person just
 * made) waits only `MANAGED_SLOW_READ_MS` instead of the full timeout, with the same outcome — no policy for now —
 * and the first answer that arrives wakes every watcher.
 */
let managedSlow = false;
/** What a read waits while the managed area is known to answer late. */
export const MANAGED_SLOW_READ_MS = 20;

function managedAnswered(): void {
  if (!managedSlow) return;
  managedSlow = false;
  if (managedRetry !== undefined) clearTimeout(managedRetry);
  managedRetry = undefined;
  for (const listener of managedLateListeners) listener();
}

function readWithTimeout(area: ManagedArea): Promise<unknown> {
  const answer = Promise.resolve().then(() => area.get());
  answer.then(managedAnswered, managedAnswered);
  const waitMs = managedSlow ? MANAGED_SLOW_READ_MS : MANAGED_READ_TIMEOUT_MS;
  return Promise.race([answer, new Promise((resolve) => setTimeout(() => resolve(TIMED_OUT), waitMs))]).then(
    (raw) => {
      if (raw === TIMED_OUT) managedSlow = true;
      return raw;
    },
  );
}

/** Asks again, with growing pauses, until the managed area answers; then every watcher re-reads the settings. */
function retryManagedLater(area: ManagedArea, delayMs: number): void {
  if (managedRetry !== undefined) return;
  managedRetry = setTimeout(async () => {
    managedRetry = undefined;
    const raw = await readWithTimeout(area).catch(() => undefined);
    if (raw === TIMED_OUT) {
      retryManagedLater(area, Math.min(delayMs * 2, MANAGED_RETRY_MAX_MS));
      return;
    }
    // An answer in time after a slow spell has woken the watchers already (`managedAnswered`).
  }, delayMs);
}

/**
 * Reads the managed policy. A missing area, a rejected `get()` and an empty result all mean "no policy"; a read
 * that does not answer in time counts as no policy for now and is retried, and watchers hear when it answers.
 */
export async function readManagedPolicy(): Promise<{ policy: ManagedPolicy; problems: string[] }> {
  const area = (browser.storage as { managed?: Partial<ManagedArea> } | undefined)?.managed;
  if (!area || typeof area.get !== 'function') return { policy: {}, problems: [] };
  let raw: unknown;
  try {
    raw = await readWithTimeout(area as ManagedArea);
  } catch {
    return { policy: {}, problems: [] };
  }
  if (raw === TIMED_OUT) {
    retryManagedLater(area as ManagedArea, 1000);
    return { policy: {}, problems: [] };
  }
  const parsed = parseManagedPolicy(raw);
  notePolicySeen(parsed.policy);
  return parsed;
}

async function readLocal(): Promise<{ settings: Settings; apiKey: string; problems: string[] }> {
  const [stored, storedKey] = await Promise.all([settingsItem.getValue(), apiKeyItem.getValue()]);
  const { settings, problems } = normalizeSettings(stored);
  let apiKey = '';
  const key = checkApiKey(storedKey ?? '');
  if (key.ok) apiKey = key.key;
  else problems.push(problemText('settings_problem_stored_key', key.error));
  return { settings, apiKey, problems };
}

function policyValueJson(policy: ManagedPolicy, key: PolicyKey): string | undefined {
  const value = policy[key];
  return value === undefined ? undefined : JSON.stringify(value);
}

/** The Web Locks name that orders settings reads and writes across the extension's pages and its background. */
export const SETTINGS_LOCK = 'guardlens-settings';

interface LockManagerLike {
  request<T>(name: string, task: () => Promise<T>): Promise<T>;
}

/**
 * The extension origin's lock manager. None elsewhere: in a page's origin the locks are the page's to hold (and
 * to keep held), and where the API is missing this context's own order is all there is.
 */
function extensionLocks(): LockManagerLike | undefined {
  const protocol = (globalThis as { location?: { protocol?: string } }).location?.protocol ?? '';
  if (!protocol.endsWith('-extension:')) return undefined;
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  return typeof locks?.request === 'function' ? locks : undefined;
}

/**
 * Reads and writes run one after another, so two saves cannot interleave their read-modify-write: within this
 * context by a promise chain, and across the options page, the popup and the background (a save while the
 * background writes a new policy value) by a Web Lock of the extension's origin.
 */
let writeChain: Promise<unknown> = Promise.resolve();
function serialized<T>(task: () => Promise<T>): Promise<T> {
  const locks = extensionLocks();
  const locked = locks ? () => locks.request(SETTINGS_LOCK, task) : task;
  const run = writeChain.then(locked, locked);
  writeChain = run.catch(() => undefined);
  return run;
}

async function computeEffective(): Promise<EffectiveState> {
  const [local, managed, applied] = await Promise.all([
    readLocal(),
    readManagedPolicy(),
    policyAppliedItem.getValue(),
  ]);
  const { policy } = managed;
  const problems = [...local.problems, ...managed.problems];
  let { settings, apiKey } = local;

  if (!policy.lockSettings) {
    const keys: PolicyKey[] = (Object.keys(policy) as PolicyKey[]).filter((key) => key !== 'lockSettings');
    const previous = applied ?? {};
    const fresh = keys.filter((key) => previous[key] !== policyValueJson(policy, key));
    const forgotten = Object.keys(previous).some((key) => !keys.includes(key as PolicyKey));
    if (fresh.length > 0) {
      const seeded = applyPolicy(settings, apiKey, pickPolicy(policy, fresh));
      settings = seeded.settings;
      const writes: Promise<void>[] = [settingsItem.setValue(settings)];
      if (fresh.includes('apiKey')) {
        apiKey = seeded.apiKey;
        writes.push(apiKeyItem.setValue(apiKey));
      }
      await Promise.all(writes);
    }
    if (fresh.length > 0 || forgotten) {
      const record: Partial<Record<PolicyKey, string>> = {};
      for (const key of keys) record[key] = policyValueJson(policy, key);
      await policyAppliedItem.setValue(record);
    }
    const { managedKeys } = applyPolicy(settings, apiKey, policy);
    return { settings, apiKey, managedKeys, locked: new Set(), problems };
  }

  const effective = applyPolicy(settings, apiKey, policy);
  return { ...effective, problems };
}

/**
 * The settings in force: the person's, with the organisation's policy applied. Writes a changed, unlocked
 * policy value into the person's settings (see the module comment).
 */
export function loadEffectiveSettings(): Promise<EffectiveState> {
  return serialized(computeEffective);
}

/** True when `value` is, once checked and canonicalised, what `settings` already holds for `key`. */
function sameSetting(key: SettingsKey, value: unknown, settings: Settings): boolean {
  const checked = checkSettingsField(key, value);
  return checked.ok && JSON.stringify(checked.value) === JSON.stringify(settings[key]);
}

/**
 * Saves some settings. Locked keys are refused and listed in `refused` (unless the patch repeats their current
 * value, which changes nothing); everything else is saved. Invalid
 * values (or unknown keys) throw a `SettingsValidationError` and nothing is saved. A new provider or generation
 * brings its preset's base URL and model id when the patch does not set them (`completePatch`).
 */
export function saveSettings(patch: Partial<Settings>): Promise<{ saved: Settings; refused: string[] }> {
  return serialized(async () => {
    const state = await computeEffective();
    const refused: string[] = [];
    const allowed: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(patch ?? {})) {
      if (value === undefined) continue;
      if (isSettingsKey(key) && state.locked.has(key)) {
        // Sending a locked key back unchanged (a form that saves everything) is not an attempt to change it.
        if (!sameSetting(key, value, state.settings)) refused.push(key);
        continue;
      }
      allowed[key] = value;
    }
    const checked = checkSettingsPatch(allowed, problemText('settings_outcome_not_saved'));
    if (checked.problems.length > 0) throw new SettingsValidationError(checked.problems);

    const completed = completePatch(state.settings, checked.patch);
    for (const key of Object.keys(completed)) {
      // A derived value must not change a locked key either (e.g. the base URL of a locked provider).
      if (isSettingsKey(key) && state.locked.has(key)) delete completed[key];
    }
    const cross = normalizeSettings({ ...state.settings, ...completed });
    if (cross.problems.length > 0) throw new SettingsValidationError(cross.problems);

    const local = (await readLocal()).settings;
    const next = normalizeSettings({ ...local, ...completed }).settings;
    await settingsItem.setValue(next);
    const after = await computeEffective();
    return { saved: after.settings, refused };
  });
}

/**
 * Saves the API key (in `storage.local` only). Refused when the policy locks it (nothing is saved, and nothing
 * is refused, when the key given is the policy's own); invalid keys throw.
 */
export function saveApiKey(key: string): Promise<{ saved: boolean; refused: string[] }> {
  return serialized(async () => {
    const state = await computeEffective();
    const checked = checkApiKey(key);
    if (state.locked.has('apiKey')) {
      const unchanged = checked.ok && checked.key === state.apiKey;
      return { saved: false, refused: unchanged ? [] : ['apiKey'] };
    }
    if (!checked.ok) throw new SettingsValidationError([checked.error]);
    await apiKeyItem.setValue(checked.key);
    return { saved: true, refused: [] };
  });
}

/** The API key in force (the policy's, when it sets one). */
export async function getApiKey(): Promise<string> {
  return (await loadEffectiveSettings()).apiKey;
}

function stateSignature(state: EffectiveState): string {
  return JSON.stringify([
    state.settings,
    state.apiKey,
    [...state.managedKeys].sort(),
    [...state.locked].sort(),
    state.problems,
  ]);
}

/**
 * Calls `cb` with the new effective settings whenever the person's settings, the API key or the managed policy
 * change (not at once: call `loadEffectiveSettings` for the current state). Calls are de-duplicated and never
 * delivered out of order. Returns a function that stops watching.
 */
/** Storage keys of `settingsItem` and `apiKeyItem` (and their version metadata). */
const WATCHED_LOCAL_KEYS = ['settings', 'settings$', 'apiKey'];

export function watchEffectiveSettings(cb: (state: EffectiveState) => void): () => void {
  let stopped = false;
  let sequence = 0;
  let lastSignature = '';
  const refresh = async () => {
    if (stopped) return;
    const mine = ++sequence;
    let state: EffectiveState;
    try {
      state = await loadEffectiveSettings();
    } catch (err) {
      console.error(
        'Guardlens: could not reload settings after a change',
        err instanceof Error ? err.name : '',
      );
      return;
    }
    if (stopped || mine !== sequence) return;
    const signature = stateSignature(state);
    if (signature === lastSignature) return;
    lastSignature = signature;
    cb(state);
  };
  // One listener on `storage.onChanged` covers the person's settings, the key and the managed policy.
  const onChanged = (changes: Record<string, unknown>, area: string) => {
    if (area === 'managed' || (area === 'local' && WATCHED_LOCAL_KEYS.some((key) => key in changes)))
      void refresh();
  };
  const onLateManaged = () => void refresh();
  browser.storage.onChanged.addListener(onChanged);
  managedLateListeners.add(onLateManaged);
  return () => {
    stopped = true;
    browser.storage.onChanged.removeListener(onChanged);
    managedLateListeners.delete(onLateManaged);
  };
}
