import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exportSettings, importSettings, SETTINGS_EXPORT_FORMAT, SETTINGS_EXPORT_VERSION } from './io';
import { DEFAULT_SETTINGS, defaultSettings, normalizeSettings, type Settings } from './schema';

const custom: Settings = {
  ...defaultSettings(),
  provider: 'custom',
  baseUrl: 'http://127.0.0.1:1234/v1',
  model: 'llama-guard-3-8b-q8',
  guardModel: 'llama-guard-3-8b',
  requestMode: 'raw',
  sendBos: false,
  customCategories: [{ code: 'S15', name: 'Gambling', description: 'Promotes gambling.' }],
  categoryActions: { S1: 'hide', S15: 'label' },
  excludedSites: ['*.bank.example'],
  chatbotSites: { claude: false },
  concurrency: 8,
  dailyBudgetUsd: 1.5,
};

describe('exportSettings', () => {
  it('writes pretty JSON with the format, version and every setting, and no API key', () => {
    const text = exportSettings(custom, { exportedAt: new Date('2026-01-02T03:04:05Z') });
    expect(text.endsWith('}\n')).toBe(true);
    expect(text).toContain('\n  "format": "guardlens-settings",\n');
    const data = JSON.parse(text);
    expect(data).toEqual({
      format: SETTINGS_EXPORT_FORMAT,
      version: SETTINGS_EXPORT_VERSION,
      exportedAt: '2026-01-02T03:04:05.000Z',
      settings: custom,
    });
    expect(text).not.toMatch(/apiKey/);
  });

  it('includes the API key only when given one', () => {
    expect(JSON.parse(exportSettings(custom, { apiKey: 'sk-123' })).apiKey).toBe('sk-123');
    expect(JSON.parse(exportSettings(custom, { apiKey: '' }))).not.toHaveProperty('apiKey');
  });

  it('writes only known settings keys', () => {
    const withExtra = { ...custom, apiKey: 'sk-leak' } as unknown as Settings;
    expect(exportSettings(withExtra)).not.toContain('sk-leak');
  });
});

describe('importSettings', () => {
  it('round-trips an export', () => {
    const result = importSettings(exportSettings(custom, { apiKey: 'sk-123' }));
    expect(result).toEqual({ settings: custom, apiKey: 'sk-123', problems: [] });
  });

  it('round-trips any valid settings (property)', () => {
    const partial = fc.record(
      {
        provider: fc.constantFrom('openrouter', 'together', 'custom'),
        concurrency: fc.integer({ min: 1, max: 16 }),
        dailyBudgetUsd: fc.double({ min: 0, max: 1000, noNaN: true }),
        excludedSites: fc.array(fc.domain(), { maxLength: 5 }),
        promptGuard: fc.constantFrom('block', 'warn', 'off'),
        historyEnabled: fc.boolean(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(partial, (input) => {
        const { settings } = normalizeSettings(input);
        const back = importSettings(exportSettings(settings));
        expect(back.problems).toEqual([]);
        expect(back.settings).toEqual(settings);
      }),
      { numRuns: 100 },
    );
  });

  it('accepts a byte order mark and surrounding white space', () => {
    const result = importSettings(`\uFEFF  ${exportSettings(DEFAULT_SETTINGS)}  `);
    expect(result.problems).toEqual([]);
  });

  it.each([
    ['', /empty/],
    ['{not json', /not valid JSON/],
    ['[1,2]', /not a Guardlens settings export/],
    ['"text"', /not a Guardlens settings export/],
    ['{"settings":{"concurrency":3}}', /needs "format": "guardlens-settings", got nothing/],
    ['{"format":"other-app","version":1,"settings":{}}', /got "other-app"/],
    ['{"format":"guardlens-settings","settings":{}}', /no valid "version"/],
    ['{"format":"guardlens-settings","version":"1","settings":{}}', /no valid "version"/],
  ])('rejects %j with a problem', (json, message) => {
    const result = importSettings(json);
    expect(result.settings).toEqual({});
    expect(result.apiKey).toBeUndefined();
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatch(message);
  });

  it('refuses input that is too large', () => {
    const result = importSettings(' '.repeat(1_000_001));
    expect(result.problems[0]).toMatch(/too large/);
  });

  it('keeps the good fields of a file with bad ones', () => {
    const json = JSON.stringify({
      format: 'guardlens-settings',
      version: 1,
      settings: { concurrency: 99, failMode: 'closed', excludedSites: ['ok.example', '*'], theme: 'dark' },
      apiKey: 'bad key',
      comment: 'hello',
    });
    const result = importSettings(json);
    expect(result.settings).toEqual({ failMode: 'closed', excludedSites: ['ok.example'] });
    expect(result.apiKey).toBeUndefined();
    const text = result.problems.join('\n');
    expect(text).toMatch(/"concurrency" must be a whole number from 1 to 16 \(got 99\); it was not imported/);
    expect(text).toMatch(/would match every site/);
    expect(text).toMatch(/Unknown setting "theme"/);
    expect(text).toMatch(/API key in the file was not imported/);
    expect(text).not.toContain('bad key');
    expect(text).toMatch(/entry "comment" was ignored/);
    expect(result.problems).toHaveLength(5);
  });

  it('says when settings are missing or not an object', () => {
    expect(importSettings('{"format":"guardlens-settings","version":1}').problems).toEqual([
      'The settings file holds no "settings".',
    ]);
    expect(importSettings('{"format":"guardlens-settings","version":1,"settings":[]}').problems[0]).toMatch(
      /must be an object/,
    );
  });

  it('imports a newer file as far as it understands it', () => {
    const json = JSON.stringify({
      format: 'guardlens-settings',
      version: SETTINGS_EXPORT_VERSION + 1,
      settings: { concurrency: 6, futureThing: true },
    });
    const result = importSettings(json);
    expect(result.settings).toEqual({ concurrency: 6 });
    expect(result.problems).toEqual([expect.stringMatching(/written by a newer Guardlens/)]);
  });

  it('imports raw mode for a chat-only provider as chat', () => {
    const json = JSON.stringify({
      format: 'guardlens-settings',
      version: 1,
      settings: { provider: 'ollama', requestMode: 'raw' },
    });
    const result = importSettings(json);
    expect(result.settings).toEqual({ provider: 'ollama', requestMode: 'chat' });
    expect(result.problems).toEqual([expect.stringMatching(/does not take raw prompts/)]);
  });

  it('never throws on arbitrary text (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        const result = importSettings(text);
        expect(Array.isArray(result.problems)).toBe(true);
        expect(typeof result.settings).toBe('object');
      }),
      { numRuns: 200 },
    );
    expect(importSettings(42 as unknown as string).problems).toHaveLength(1);
  });
});
