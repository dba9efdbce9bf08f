import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { getPreset } from '@/lib/providers/presets';
import { POLICY_LOCK_REASON } from '@/lib/settings/policy';
import { DEFAULT_SETTINGS, normalizeSettings, SettingsValidationError } from '@/lib/settings/schema';
import {
  defineSettingsItem,
  type EffectiveState,
  getApiKey,
  loadEffectiveSettings,
  readManagedPolicy,
  SETTINGS_VERSION,
  saveApiKey,
  saveSettings,
  watchEffectiveSettings,
} from './settings';

const local = fakeBrowser.storage.local;
const managed = fakeBrowser.storage.managed;

/** Lets storage events and the reloads they start settle. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

beforeEach(() => {
  fakeBrowser.reset();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('loadEffectiveSettings', () => {
  it('gives the defaults and an empty key on a fresh install', async () => {
    const state = await loadEffectiveSettings();
    expect(state.settings).toEqual(DEFAULT_SETTINGS);
    expect(state.apiKey).toBe('');
    expect(state.managedKeys.size).toBe(0);
    expect(state.locked.size).toBe(0);
    expect(state.problems).toEqual([]);
  });

  it('accepts the partial settings tests and older versions write', async () => {
    await local.set({
      settings: {
        provider: 'custom',
        baseUrl: 'http://127.0.0.1:1234/v1',
        model: 'x',
        guardModel: 'llama-guard-3-8b',
        requestMode: 'raw',
      },
      apiKey: 'sk-local',
    });
    const state = await loadEffectiveSettings();
    expect(state.problems).toEqual([]);
    expect(state.settings).toEqual({
      ...DEFAULT_SETTINGS,
      provider: 'custom',
      baseUrl: 'http://127.0.0.1:1234/v1',
      model: 'x',
      guardModel: 'llama-guard-3-8b',
      requestMode: 'raw',
    });
    expect(state.apiKey).toBe('sk-local');
    expect(await getApiKey()).toBe('sk-local');
  });

  it('falls back field by field on garbage and lists the problems', async () => {
    await local.set({
      settings: { concurrency: 'lots', excludedSites: 5, failMode: 'closed', bogus: 1 },
      apiKey: 42,
    });
    const state = await loadEffectiveSettings();
    expect(state.settings).toEqual({ ...DEFAULT_SETTINGS, failMode: 'closed' });
    expect(state.apiKey).toBe('');
    expect(state.problems).toHaveLength(4);
    expect(state.problems.join('\n')).toMatch(/"concurrency" must be a whole number/);
    expect(state.problems.join('\n')).toMatch(/stored API key is not usable/);
  });

  it('survives a settings value that is not an object at all', async () => {
    await local.set({ settings: 'garbage' });
    const state = await loadEffectiveSettings();
    expect(state.settings).toEqual(DEFAULT_SETTINGS);
    expect(state.problems).toEqual([expect.stringMatching(/must be an object/)]);
  });
});

describe('managed policy', () => {
  it('does not wait for a managed read that never answers, and applies the policy once it does', async () => {
    // Chrome leaves the first storage.managed.get() of a starting service worker unanswered.
    await managed.set({ baseUrl: 'https://gateway.example.org/v1', provider: 'custom', model: 'lg' });
    const real = managed.get.bind(managed);
    let calls = 0;
    vi.spyOn(managed, 'get').mockImplementation((() => {
      calls++;
      return calls === 1 ? new Promise(() => {}) : real();
    }) as typeof managed.get);
    const seen: EffectiveState[] = [];
    const stop = watchEffectiveSettings((state) => seen.push(state));
    const started = Date.now();
    const first = await loadEffectiveSettings();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(first.settings.baseUrl).toBe(DEFAULT_SETTINGS.baseUrl);
    await vi.waitFor(() => expect(seen.at(-1)?.settings.baseUrl).toBe('https://gateway.example.org/v1'), {
      timeout: 4000,
    });
    stop();
  });

  it('applies a change at once while the managed area answers late, and re-reads as soon as it answers', async () => {
    // The first seconds after Chrome starts: every managed read goes unanswered for a while. A settings change
    // made then was applied only after a full read timeout (500 ms), and a late answer only after a retry (1 s+).
    await managed.set({ failMode: 'closed' });
    const real = managed.get.bind(managed);
    let release: () => void = () => {};
    const late = new Promise<void>((resolve) => {
      release = resolve;
    });
    vi.spyOn(managed, 'get').mockImplementation((() => late.then(() => real())) as typeof managed.get);
    const seen: EffectiveState[] = [];
    const stop = watchEffectiveSettings((state) => seen.push(state));
    try {
      await loadEffectiveSettings(); // times out: the area is slow from now on
      const changed = Date.now();
      await local.set({ settings: { ...DEFAULT_SETTINGS, model: 'changed-now' } });
      await vi.waitFor(() => expect(seen.at(-1)?.settings.model).toBe('changed-now'), {
        timeout: 2000,
        interval: 5,
      });
      expect(Date.now() - changed).toBeLessThan(250);
      expect(seen.at(-1)?.settings.failMode).toBe(DEFAULT_SETTINGS.failMode);
      const answered = Date.now();
      release();
      await vi.waitFor(() => expect(seen.at(-1)?.settings.failMode).toBe('closed'), {
        timeout: 2000,
        interval: 5,
      });
      expect(Date.now() - answered).toBeLessThan(250);
    } finally {
      release();
      stop();
    }
  });

  it('treats a rejecting managed.get (Firefox without a policy) as no policy', async () => {
    vi.spyOn(managed, 'get').mockRejectedValue(new Error('Managed storage manifest not found'));
    expect(await readManagedPolicy()).toEqual({ policy: {}, problems: [] });
    const state = await loadEffectiveSettings();
    expect(state.settings).toEqual(DEFAULT_SETTINGS);
    expect(state.problems).toEqual([]);
  });

  it('treats a missing managed area as no policy', async () => {
    const storage = fakeBrowser.storage as { managed?: unknown };
    const saved = storage.managed;
    storage.managed = undefined;
    try {
      expect(await readManagedPolicy()).toEqual({ policy: {}, problems: [] });
      expect((await loadEffectiveSettings()).settings).toEqual(DEFAULT_SETTINGS);
    } finally {
      storage.managed = saved;
    }
  });

  it('overrides local values without a click, and lets the person change them when unlocked', async () => {
    await local.set({ settings: { failMode: 'open', concurrency: 2 } });
    await managed.set({
      provider: 'custom',
      baseUrl: 'https://gateway.example.org/v1',
      model: 'guard',
      failMode: 'closed',
      apiKey: 'sk-org',
    });
    const state = await loadEffectiveSettings();
    expect(state.settings).toMatchObject({
      provider: 'custom',
      baseUrl: 'https://gateway.example.org/v1',
      model: 'guard',
      failMode: 'closed',
      concurrency: 2,
    });
    expect(state.apiKey).toBe('sk-org');
    expect([...state.managedKeys].sort()).toEqual(['apiKey', 'baseUrl', 'failMode', 'model', 'provider']);
    expect(state.locked.size).toBe(0);

    // Unlocked: the person may change a managed value, and the change sticks.
    const { saved, refused } = await saveSettings({ failMode: 'open' });
    expect(refused).toEqual([]);
    expect(saved.failMode).toBe('open');
    expect((await loadEffectiveSettings()).settings.failMode).toBe('open');

    // A value the administrator changes applies again; one they left alone keeps the person's choice.
    await managed.set({ baseUrl: 'https://gateway2.example.org/v1' });
    const again = await loadEffectiveSettings();
    expect(again.settings.baseUrl).toBe('https://gateway2.example.org/v1');
    expect(again.settings.failMode).toBe('open');

    // A value removed from the policy and set again later applies again.
    await managed.remove('failMode');
    expect((await loadEffectiveSettings()).settings.failMode).toBe('open');
    await managed.set({ failMode: 'closed' });
    expect((await loadEffectiveSettings()).settings.failMode).toBe('closed');
  });

  it('refuses locked keys, lists them and saves the rest', async () => {
    await local.set({ apiKey: 'sk-mine' });
    await managed.set({ provider: 'groq', promptGuard: 'off', apiKey: 'sk-org', lockSettings: true });
    const state = await loadEffectiveSettings();
    expect(state.settings.provider).toBe('groq');
    expect(state.settings.baseUrl).toBe(getPreset('groq').baseUrl);
    expect([...state.locked].sort()).toEqual(['apiKey', 'baseUrl', 'promptGuard', 'provider']);
    expect(POLICY_LOCK_REASON).toMatch(/organisation/);

    const result = await saveSettings({
      promptGuard: 'warn',
      baseUrl: 'https://evil.example/v1',
      concurrency: 8,
    });
    expect(result.refused.sort()).toEqual(['baseUrl', 'promptGuard']);
    expect(result.saved.promptGuard).toBe('off');
    expect(result.saved.baseUrl).toBe(getPreset('groq').baseUrl);
    expect(result.saved.concurrency).toBe(8);

    // A form that sends every setting back, locked ones unchanged, gets no refusals for those.
    const whole = await saveSettings({ ...result.saved, historyEnabled: false });
    expect(whole.refused).toEqual([]);
    expect(whole.saved.historyEnabled).toBe(false);

    expect(await saveApiKey('sk-other')).toEqual({ saved: false, refused: ['apiKey'] });
    expect(await saveApiKey('sk-org')).toEqual({ saved: false, refused: [] });
    expect(await getApiKey()).toBe('sk-org');
    // The person's own key is kept for when the policy goes away.
    expect((await local.get('apiKey')).apiKey).toBe('sk-mine');
    await managed.clear();
    expect(await getApiKey()).toBe('sk-mine');
    expect((await loadEffectiveSettings()).settings.promptGuard).toBe('block');
  });

  it('reports bad policy values and applies the good ones', async () => {
    await managed.set({ failMode: 'sideways', promptGuard: 'warn', colour: 'red' });
    const state = await loadEffectiveSettings();
    expect(state.settings.promptGuard).toBe('warn');
    expect(state.settings.failMode).toBe('open');
    expect(state.problems).toHaveLength(2);
  });
});

describe('saveSettings and saveApiKey', () => {
  it('saves a patch over the stored settings', async () => {
    await local.set({ settings: { concurrency: 3 } });
    const { saved, refused } = await saveSettings({ excludedSites: ['*.Bank.example'], scanImages: false });
    expect(refused).toEqual([]);
    expect(saved).toEqual({
      ...DEFAULT_SETTINGS,
      concurrency: 3,
      excludedSites: ['*.bank.example'],
      scanImages: false,
    });
    const stored = (await local.get('settings')).settings;
    expect(normalizeSettings(stored).settings).toEqual(saved);
  });

  it('brings the preset base URL and model with a new provider', async () => {
    const { saved } = await saveSettings({ provider: 'together', guardModel: 'llama-guard-3-11b-vision' });
    expect(saved.baseUrl).toBe(getPreset('together').baseUrl);
    expect(saved.model).toBe(getPreset('together').models['llama-guard-3-11b-vision']);
  });

  it('throws a SettingsValidationError for bad values and saves nothing', async () => {
    await expect(saveSettings({ concurrency: 0, failMode: 'closed' })).rejects.toBeInstanceOf(
      SettingsValidationError,
    );
    await expect(saveSettings({ provider: 'groq', requestMode: 'raw' })).rejects.toThrow(/raw prompts/);
    await expect(saveSettings({ apiKey: 'x' } as never)).rejects.toThrow(/API key is not part/);
    expect((await local.get('settings')).settings).toBeUndefined();
  });

  it('stores the API key in storage.local only and never logs it', async () => {
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
      vi.spyOn(console, m).mockImplementation(() => undefined),
    );
    expect(await saveApiKey('  sk-secret-123  ')).toEqual({ saved: true, refused: [] });
    expect(await getApiKey()).toBe('sk-secret-123');
    expect((await local.get('apiKey')).apiKey).toBe('sk-secret-123');
    expect(await fakeBrowser.storage.sync.get()).toEqual({});
    expect(await fakeBrowser.storage.session.get()).toEqual({});
    expect(JSON.stringify(await local.get('settings'))).not.toContain('sk-secret');
    await expect(saveApiKey('bad key')).rejects.toBeInstanceOf(SettingsValidationError);
    for (const spy of spies) {
      for (const call of spy.mock.calls) expect(JSON.stringify(call)).not.toContain('sk-secret');
    }
  });
});

describe('migrations', () => {
  it('is at version 1', () => {
    expect(SETTINGS_VERSION).toBe(1);
  });

  it('runs a concrete v2 migration on a stored v1 value', async () => {
    // A v2 that replaces a boolean `guardPrompts` (a shape this test gives v1) with `promptGuard`, and moves
    // excluded sites from a comma-separated string to a list.
    await local.set({
      settings: { guardPrompts: false, excludedSites: 'bank.example, *.corp.example', concurrency: 6 },
      settings$: { v: 1 },
    });
    const migrateToV2 = (old: unknown) => {
      const { guardPrompts, excludedSites, ...rest } = old as Record<string, unknown>;
      return {
        ...rest,
        promptGuard: guardPrompts === false ? 'off' : 'block',
        excludedSites:
          typeof excludedSites === 'string'
            ? excludedSites.split(',').map((site) => site.trim())
            : excludedSites,
      };
    };
    const item = defineSettingsItem(2, { 2: migrateToV2 });
    const value = await item.getValue();
    expect(await item.getMeta()).toEqual({ v: 2 });
    const { settings, problems } = normalizeSettings(value);
    expect(problems).toEqual([]);
    expect(settings).toMatchObject({
      promptGuard: 'off',
      excludedSites: ['bank.example', '*.corp.example'],
      concurrency: 6,
    });
  });
});

describe('watchEffectiveSettings', () => {
  it('fires on local and managed changes until stopped', async () => {
    const seen: EffectiveState[] = [];
    const stop = watchEffectiveSettings((state) => seen.push(state));

    await saveSettings({ concurrency: 7 });
    await settle();
    expect(seen.at(-1)?.settings.concurrency).toBe(7);

    await managed.set({ promptGuard: 'warn', lockSettings: true });
    await settle();
    expect(seen.at(-1)?.settings.promptGuard).toBe('warn');
    expect(seen.at(-1)?.locked.has('promptGuard')).toBe(true);

    await saveApiKey('sk-new');
    await settle();
    expect(seen.at(-1)?.apiKey).toBe('sk-new');

    const count = seen.length;
    // A write that changes nothing effective is not reported twice.
    await local.set({ settings: { ...seen.at(-1)!.settings } });
    await settle();
    expect(seen.length).toBe(count);

    stop();
    await saveSettings({ concurrency: 9 });
    await settle();
    expect(seen.length).toBe(count);
  });
});

describe('the API key stays private', () => {
  it('is kept in storage.local only, and no error, problem or log line repeats it', async () => {
    const logged: unknown[] = [];
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(...args));
    }
    await saveApiKey('sk-unit-secret-1');
    expect(await local.get(null)).toEqual({ apiKey: 'sk-unit-secret-1' });
    expect(await fakeBrowser.storage.session.get(null)).toEqual({});
    expect(await fakeBrowser.storage.sync.get(null)).toEqual({});

    // A key that cannot be used is refused without being repeated.
    const refusal = await saveApiKey('sk-unit secret-2').catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(SettingsValidationError);
    expect(
      JSON.stringify([(refusal as Error).message, (refusal as SettingsValidationError).problems]),
    ).not.toMatch(/secret/);
    // A stored key that cannot be used is dropped with a problem that does not repeat it.
    await local.set({ apiKey: 'sk-unit\tsecret-3' });
    const state = await loadEffectiveSettings();
    expect(JSON.stringify(state.problems)).not.toMatch(/secret/);
    expect(JSON.stringify(logged)).not.toMatch(/secret/);
  });
});

describe('settings written from several contexts at once', () => {
  /** A Web Locks manager of one origin (Node has none): each name's requests run one after another. */
  function originLocks() {
    const chains = new Map<string, Promise<unknown>>();
    const names: string[] = [];
    return {
      names,
      request<T>(name: string, task: () => Promise<T>): Promise<T> {
        names.push(name);
        const run = (chains.get(name) ?? Promise.resolve()).then(task, task);
        chains.set(
          name,
          run.catch(() => undefined),
        );
        return run;
      },
    };
  }

  /** This module as another page or the background loads it: its own order of writes, the same storage. */
  async function anotherContext(): Promise<typeof import('./settings')> {
    vi.resetModules();
    return import('./settings');
  }

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  async function saveFromTwoContexts() {
    const [popup, options] = [await anotherContext(), await anotherContext()];
    for (let i = 0; i < 5; i++) {
      await Promise.all([
        popup.saveSettings({ pausedSites: [`paused-${i}.example`] }),
        options.saveSettings({ excludedSites: [`excluded-${i}.example`] }),
      ]);
    }
    return (await options.loadEffectiveSettings()).settings;
  }

  it('in the extension origin, a save in one page and a save in another both hold (one Web Lock orders them)', async () => {
    const locks = originLocks();
    vi.stubGlobal('location', { protocol: 'chrome-extension:' });
    vi.stubGlobal('navigator', { locks });
    const settings = await saveFromTwoContexts();
    expect(settings.pausedSites).toEqual(['paused-4.example']);
    expect(settings.excludedSites).toEqual(['excluded-4.example']);
    expect(new Set(locks.names)).toEqual(new Set(['guardlens-settings']));
  });

  it('never takes a lock of a web page’s origin', async () => {
    const locks = originLocks();
    vi.stubGlobal('location', { protocol: 'https:' });
    vi.stubGlobal('navigator', { locks });
    await saveSettings({ pausedSites: ['a.example'] });
    expect(locks.names).toEqual([]);
  });

  it('without the lock, two contexts lose each other’s saves (what the lock is for)', async () => {
    vi.stubGlobal('location', { protocol: 'chrome-extension:' });
    vi.stubGlobal('navigator', {});
    const settings = await saveFromTwoContexts();
    const bothHeld =
      settings.pausedSites.includes('paused-4.example') &&
      settings.excludedSites.includes('excluded-4.example');
    expect(bothHeld).toBe(false);
  });
});
