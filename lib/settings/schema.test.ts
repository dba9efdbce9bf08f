import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GUARD_MODEL_IDS } from '../guard/types';
import { getPreset, PRESET_IDS } from '../providers/presets';
import {
  actionForCategory,
  checkApiKey,
  checkSettingsPatch,
  completePatch,
  DEFAULT_SETTINGS,
  defaultSettings,
  isChatbotSiteEnabled,
  isSiteExcluded,
  isSitePaused,
  normalizeSettings,
  SETTINGS_KEYS,
  type Settings,
  SettingsValidationError,
  settingsFingerprint,
  siteState,
} from './schema';

describe('DEFAULT_SETTINGS', () => {
  it('uses OpenRouter with Llama Guard 4 12B in chat mode', () => {
    expect(DEFAULT_SETTINGS.provider).toBe('openrouter');
    expect(DEFAULT_SETTINGS.baseUrl).toBe(getPreset('openrouter').baseUrl);
    expect(DEFAULT_SETTINGS.guardModel).toBe('llama-guard-4-12b');
    expect(DEFAULT_SETTINGS.model).toBe(getPreset('openrouter').models['llama-guard-4-12b']);
    expect(DEFAULT_SETTINGS.requestMode).toBe('chat');
  });

  it('has the documented defaults', () => {
    expect(DEFAULT_SETTINGS).toMatchObject({
      hideImagesUntilChecked: false,
      promptGuard: 'block',
      checkReplies: false,
      failMode: 'open',
      allowIncognito: false,
      concurrency: 4,
      dailyBudgetUsd: 0,
      budgetAppliesToPrompts: false,
      chunkTokens: 2000,
      historyEnabled: true,
      categoryActions: {},
      chatbotSites: {},
    });
    expect(actionForCategory(DEFAULT_SETTINGS, 'S1')).toBe('blur');
    expect(isChatbotSiteEnabled(DEFAULT_SETTINGS, 'chatgpt')).toBe(true);
  });

  it('is frozen, and defaultSettings() gives a mutable copy', () => {
    expect(Object.isFrozen(DEFAULT_SETTINGS)).toBe(true);
    expect(Object.isFrozen(DEFAULT_SETTINGS.excludedSites)).toBe(true);
    const copy = defaultSettings();
    copy.excludedSites.push('example.com');
    expect(DEFAULT_SETTINGS.excludedSites).toEqual([]);
  });

  it('has no API key', () => {
    expect(SETTINGS_KEYS).not.toContain('apiKey');
  });

  it('normalizes to itself with no problems', () => {
    expect(normalizeSettings(DEFAULT_SETTINGS)).toEqual({ settings: DEFAULT_SETTINGS, problems: [] });
  });
});

describe('normalizeSettings', () => {
  it('gives the defaults for nothing, without problems', () => {
    expect(normalizeSettings(undefined)).toEqual({ settings: DEFAULT_SETTINGS, problems: [] });
    expect(normalizeSettings(null)).toEqual({ settings: DEFAULT_SETTINGS, problems: [] });
    expect(normalizeSettings({})).toEqual({ settings: DEFAULT_SETTINGS, problems: [] });
  });

  it('reports input that is not an object', () => {
    for (const input of ['settings', 42, [1, 2], true]) {
      const { settings, problems } = normalizeSettings(input);
      expect(settings).toEqual(DEFAULT_SETTINGS);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/must be an object/);
    }
  });

  it('accepts the partial object tests and older versions write', () => {
    const { settings, problems } = normalizeSettings({
      provider: 'custom',
      baseUrl: 'http://127.0.0.1:1234/v1',
      model: 'x',
      guardModel: 'llama-guard-3-8b',
      requestMode: 'raw',
    });
    expect(problems).toEqual([]);
    expect(settings).toMatchObject({
      provider: 'custom',
      baseUrl: 'http://127.0.0.1:1234/v1',
      model: 'x',
      guardModel: 'llama-guard-3-8b',
      requestMode: 'raw',
      concurrency: 4,
    });
  });

  it('fills provider-dependent defaults from the chosen preset', () => {
    const { settings, problems } = normalizeSettings({
      provider: 'fireworks',
      guardModel: 'llama-guard-3-1b',
    });
    expect(problems).toEqual([]);
    expect(settings.baseUrl).toBe(getPreset('fireworks').baseUrl);
    expect(settings.model).toBe(getPreset('fireworks').models['llama-guard-3-1b']);
    // A generation the provider does not serve leaves the model empty (not configured).
    expect(normalizeSettings({ provider: 'groq', guardModel: 'llama-guard-3-1b' }).settings.model).toBe('');
    // An empty custom base URL means "not set up yet".
    expect(normalizeSettings({ provider: 'custom' }).settings.baseUrl).toBe('');
  });

  it('treats empty baseUrl and model as "not chosen"', () => {
    const { settings, problems } = normalizeSettings({ provider: 'groq', baseUrl: ' ', model: '' });
    expect(problems).toEqual([]);
    expect(settings.baseUrl).toBe(getPreset('groq').baseUrl);
    expect(settings.model).toBe(getPreset('groq').models['llama-guard-4-12b']);
  });

  it('strips trailing slashes from the base URL', () => {
    expect(normalizeSettings({ baseUrl: 'https://llm.example.com/v1/' }).settings.baseUrl).toBe(
      'https://llm.example.com/v1',
    );
  });

  it('falls back to the default for each bad field and says why', () => {
    const { settings, problems } = normalizeSettings({
      provider: 'nope',
      guardModel: 'llama-guard-5',
      requestMode: 'stream',
      sendBos: 'yes',
      concurrency: 40,
      chunkTokens: 10.5,
      dailyBudgetUsd: -1,
      promptGuard: 'maybe',
      failMode: 1,
      historyEnabled: 'true',
      scanText: null,
    });
    expect(settings).toEqual(DEFAULT_SETTINGS);
    const text = problems.join('\n');
    expect(text).toMatch(
      /"provider" must be one of "openrouter".*\(got "nope"\); using the default \("openrouter"\)/,
    );
    expect(text).toMatch(/"guardModel" must be one of/);
    expect(text).toMatch(/"requestMode" must be one of "chat", "raw"/);
    expect(text).toMatch(/"sendBos" must be true or false \(got "yes"\); using the provider's default/);
    expect(text).toMatch(
      /"concurrency" must be a whole number from 1 to 16 \(got 40\); using the default \(4\)/,
    );
    expect(text).toMatch(/"chunkTokens" must be a whole number from 200 to 100000 \(got 10.5\)/);
    expect(text).toMatch(/"dailyBudgetUsd" must be an amount in USD/);
    expect(text).toMatch(/"promptGuard"/);
    expect(text).toMatch(/"failMode"/);
    expect(text).toMatch(/"historyEnabled" must be true or false/);
    expect(text).toMatch(/"scanText" must be true or false \(got null\)/);
    expect(problems).toHaveLength(11);
  });

  it("rejects a bad base URL and uses the provider's", () => {
    for (const baseUrl of ['http://llm.example.com/v1', 'not a url', 'https://u:p@x.example/v1', 42]) {
      const { settings, problems } = normalizeSettings({ provider: 'together', baseUrl });
      expect(settings.baseUrl).toBe(getPreset('together').baseUrl);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/"baseUrl"/);
    }
  });

  it('rejects a model id with spaces', () => {
    const { settings, problems } = normalizeSettings({ model: 'meta llama' });
    expect(settings.model).toBe(DEFAULT_SETTINGS.model);
    expect(problems[0]).toMatch(/"model" must not contain spaces/);
  });

  it('switches raw mode to chat for providers without raw prompts', () => {
    for (const provider of ['groq', 'ollama'] as const) {
      const { settings, problems } = normalizeSettings({ provider, requestMode: 'raw' });
      expect(settings.requestMode).toBe('chat');
      expect(problems).toEqual([expect.stringMatching(/does not take raw prompts/)]);
    }
  });

  it('lists unknown keys and an API key that does not belong', () => {
    const { settings, problems } = normalizeSettings({ colour: 'blue', apiKey: 'sk-secret-value' });
    expect(settings).toEqual(DEFAULT_SETTINGS);
    expect(problems).toEqual([
      'Unknown setting "colour" was ignored.',
      'The API key is not part of the settings object; it was ignored there.',
    ]);
    expect(problems.join(' ')).not.toContain('sk-secret-value');
  });

  it('keeps good entries of lists and maps and drops bad ones', () => {
    const { settings, problems } = normalizeSettings({
      excludedSites: ['*.Bank.example', 'bad pattern', 'example.com', 'EXAMPLE.com', 7],
      pausedSites: ['News.example', '*.wild.example'],
      extraChatbotSites: ['https://chat.internal.example/app'],
      categoryActions: { s1: 'hide', S2: 'explode', 'not a code': 'blur', O3: 'label' },
      chatbotSites: { chatgpt: false, claude: 'no', 'Bad Id': true },
      customCategories: [
        { code: 's15', name: '  Gambling\nads ', description: 'Promotes\tgambling.' },
        { code: 'S15', name: 'Duplicate', description: '' },
        { code: '15', name: 'Bad code', description: '' },
        { code: 'C2', name: '', description: '' },
        'nope',
        { code: 'C3', name: 'No description' },
      ],
    });
    expect(settings.excludedSites).toEqual(['*.bank.example', 'example.com']);
    expect(settings.pausedSites).toEqual(['news.example']);
    expect(settings.extraChatbotSites).toEqual(['chat.internal.example']);
    expect(settings.categoryActions).toEqual({ S1: 'hide', O3: 'label' });
    expect(settings.chatbotSites).toEqual({ chatgpt: false });
    expect(settings.customCategories).toEqual([
      { code: 'S15', name: 'Gambling ads', description: 'Promotes gambling.' },
      { code: 'C3', name: 'No description', description: '' },
    ]);
    expect(problems).toHaveLength(11);
    expect(problems.join('\n')).toMatch(
      /"bad pattern" must be a host name only.*dropped from "excludedSites"/,
    );
    expect(problems.join('\n')).toMatch(/repeats the code "S15"/);
  });

  it('rejects a list field that is not a list', () => {
    const { settings, problems } = normalizeSettings({ excludedSites: 'example.com', categoryActions: [] });
    expect(settings.excludedSites).toEqual([]);
    expect(settings.categoryActions).toEqual({});
    expect(problems).toHaveLength(2);
  });

  it('never throws and always returns valid settings (property)', () => {
    const anyValue = fc.oneof(
      fc.constant(undefined),
      fc.anything(),
      fc.constantFrom(...PRESET_IDS, ...GUARD_MODEL_IDS, 'chat', 'raw', 'block', 'closed'),
      fc.array(fc.oneof(fc.string(), fc.webUrl(), fc.domain())),
    );
    const input = fc.oneof(
      fc.anything(),
      fc.dictionary(fc.constantFrom(...SETTINGS_KEYS, 'other', 'apiKey'), anyValue),
    );
    fc.assert(
      fc.property(input, (value) => {
        const { settings, problems } = normalizeSettings(value);
        expect(Array.isArray(problems)).toBe(true);
        // The result is a fixed point: normalizing again changes nothing and reports nothing.
        expect(normalizeSettings(settings)).toEqual({ settings, problems: [] });
        expect(Object.keys(settings).sort()).toEqual([...SETTINGS_KEYS].sort());
      }),
      { numRuns: 200 },
    );
  });
});

describe('checkSettingsPatch', () => {
  it('keeps valid fields only and does not fill defaults', () => {
    const { patch, problems } = checkSettingsPatch(
      { concurrency: 8, failMode: 'sideways' },
      'it was not saved',
    );
    expect(patch).toEqual({ concurrency: 8 });
    expect(problems).toEqual([expect.stringMatching(/"failMode" must be one of .*; it was not saved\.$/)]);
  });
});

describe('completePatch', () => {
  const current = defaultSettings();

  it('brings the preset base URL and model id with a new provider', () => {
    expect(completePatch(current, { provider: 'deepinfra' })).toEqual({
      provider: 'deepinfra',
      baseUrl: getPreset('deepinfra').baseUrl,
      model: getPreset('deepinfra').models['llama-guard-4-12b'],
    });
  });

  it('clears the model when the new provider does not serve the generation, and raw mode for chat-only ones', () => {
    const raw = { ...current, requestMode: 'raw' as const };
    expect(completePatch(raw, { provider: 'groq', guardModel: 'llama-guard-3-8b' })).toMatchObject({
      model: '',
      requestMode: 'chat',
    });
  });

  it('clears the base URL for a custom provider and keeps the model', () => {
    expect(completePatch(current, { provider: 'custom' })).toEqual({ provider: 'custom', baseUrl: '' });
  });

  it('never overrides what the patch sets', () => {
    const patch = { provider: 'together' as const, baseUrl: 'https://proxy.example/v1', model: 'm' };
    expect(completePatch(current, patch)).toEqual(patch);
  });
});

describe('sites', () => {
  const settings = {
    ...defaultSettings(),
    excludedSites: ['*.bank.example', 'mail.example.com'],
    pausedSites: ['news.example'],
  };

  it('excludes matching hosts only', () => {
    expect(isSiteExcluded(settings, 'https://online.bank.example/login')).toBe(true);
    expect(isSiteExcluded(settings, 'https://BANK.example')).toBe(true);
    expect(isSiteExcluded(settings, 'https://mail.example.com/inbox')).toBe(true);
    expect(isSiteExcluded(settings, 'https://example.com/')).toBe(false);
    expect(isSiteExcluded(settings, 'file:///home/a.html')).toBe(false);
    expect(isSiteExcluded(settings, 'garbage')).toBe(false);
  });

  it('pauses exact hosts and reports the state, exclusion first', () => {
    expect(isSitePaused(settings, 'https://news.example/a')).toBe(true);
    expect(isSitePaused(settings, 'https://www.news.example/a')).toBe(false);
    expect(siteState(settings, 'https://news.example/')).toBe('paused');
    expect(siteState({ ...settings, excludedSites: ['news.example'] }, 'https://news.example/')).toBe(
      'excluded',
    );
    expect(siteState(settings, 'https://other.example/')).toBe('active');
  });

  it('turns chatbot sites off only when asked', () => {
    const s = { ...defaultSettings(), chatbotSites: { claude: false, gemini: true } };
    expect(isChatbotSiteEnabled(s, 'claude')).toBe(false);
    expect(isChatbotSiteEnabled(s, 'gemini')).toBe(true);
    expect(isChatbotSiteEnabled(s, 'chatgpt')).toBe(true);
  });

  it('finds the action per category, case-insensitively, with blur by default', () => {
    const s = { ...defaultSettings(), categoryActions: { S10: 'hide' as const } };
    expect(actionForCategory(s, 's10')).toBe('hide');
    expect(actionForCategory(s, 'S2')).toBe('blur');
    expect(actionForCategory(s, '???')).toBe('blur');
  });
});

describe('settingsFingerprint', () => {
  const base = defaultSettings();

  it('is stable and compact', () => {
    expect(settingsFingerprint(base)).toBe(settingsFingerprint(defaultSettings()));
    expect(settingsFingerprint(base)).toMatch(/^v1-[0-9a-f]{16}$/);
  });

  it('changes with everything that can change a verdict', () => {
    const variants: Partial<Settings>[] = [
      { guardModel: 'llama-guard-3-8b' },
      { model: 'meta-llama/llama-guard-3-8b' },
      { requestMode: 'raw' },
      { baseUrl: 'https://llm.example.com/v1' },
      { customCategories: [{ code: 'S15', name: 'Gambling', description: '' }] },
    ];
    const seen = new Set([settingsFingerprint(base)]);
    for (const variant of variants) {
      const fp = settingsFingerprint({ ...base, ...variant });
      expect(seen.has(fp)).toBe(false);
      seen.add(fp);
    }
    const raw = { ...base, requestMode: 'raw' as const };
    expect(settingsFingerprint({ ...raw, sendBos: false })).not.toBe(settingsFingerprint(raw));
  });

  it('ignores what does not change a verdict', () => {
    const fp = settingsFingerprint(base);
    const other: Settings = {
      ...base,
      categoryActions: { S1: 'hide' },
      excludedSites: ['example.com'],
      concurrency: 9,
      promptGuard: 'warn',
      baseUrl: `${base.baseUrl}/`,
    };
    expect(settingsFingerprint(other)).toBe(fp);
    // sendBos only matters in raw mode.
    expect(settingsFingerprint({ ...base, sendBos: !base.sendBos })).toBe(fp);
  });

  it('depends on the order of custom categories (the prompt lists them in order)', () => {
    const a = { code: 'C1', name: 'A', description: '' };
    const b = { code: 'C2', name: 'B', description: '' };
    expect(settingsFingerprint({ ...base, customCategories: [a, b] })).not.toBe(
      settingsFingerprint({ ...base, customCategories: [b, a] }),
    );
  });
});

describe('checkApiKey and SettingsValidationError', () => {
  it('trims keys and rejects unprintable ones without echoing them', () => {
    expect(checkApiKey('  sk-abc  ')).toEqual({ ok: true, key: 'sk-abc' });
    expect(checkApiKey('')).toEqual({ ok: true, key: '' });
    const bad = checkApiKey('sk abc');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).not.toContain('sk abc');
    expect(checkApiKey(12).ok).toBe(false);
    expect(checkApiKey('x'.repeat(5000)).ok).toBe(false);
  });

  it('carries the problems', () => {
    const err = new SettingsValidationError(['a', 'b']);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('SettingsValidationError');
    expect(err.problems).toEqual(['a', 'b']);
    expect(err.message).toContain('- b');
    expect(new SettingsValidationError(['only']).message).toBe('only');
  });
});
