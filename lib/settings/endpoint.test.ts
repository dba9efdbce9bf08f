import { describe, expect, it } from 'vitest';
import { customCategoryText, endpointConfigFromSettings, missingEndpointSetting } from './endpoint';
import { DEFAULT_SETTINGS } from './schema';

describe('endpointConfigFromSettings', () => {
  it('maps the settings and key to the client configuration', () => {
    const config = endpointConfigFromSettings(
      {
        ...DEFAULT_SETTINGS,
        provider: 'custom',
        baseUrl: 'http://127.0.0.1:9/v1',
        model: 'lg',
        requestMode: 'raw',
      },
      'k',
    );
    expect(config).toMatchObject({
      baseUrl: 'http://127.0.0.1:9/v1',
      model: 'lg',
      mode: 'raw',
      presetId: 'custom',
      apiKey: 'k',
    });
    expect(config.prompt).toBeUndefined();
  });

  it('falls back to the preset base URL and leaves out an empty key', () => {
    const config = endpointConfigFromSettings({ ...DEFAULT_SETTINGS, baseUrl: '' }, '');
    expect(config.baseUrl).toBe('https://openrouter.ai/api/v1');
    expect('apiKey' in config).toBe(false);
  });

  it('adds custom categories to the generation table', () => {
    const config = endpointConfigFromSettings(
      {
        ...DEFAULT_SETTINGS,
        guardModel: 'llama-guard-3-1b',
        requestMode: 'raw',
        customCategories: [{ code: 'S14', name: 'Gambling', description: 'Promoting betting sites' }],
      },
      'k',
    );
    const table = config.prompt?.categories ?? {};
    expect(table.S1).toBe('Violent Crimes.');
    expect(table.S14).toBe('Gambling. Promoting betting sites.');
    expect(Object.keys(table)).toHaveLength(14);
  });
});

it('leaves custom categories out where the mode or the template does not take them', () => {
  const custom = [{ code: 'S14', name: 'Gambling', description: '' }];
  const chat = endpointConfigFromSettings(
    { ...DEFAULT_SETTINGS, guardModel: 'llama-guard-3-1b', customCategories: custom },
    'k',
  );
  expect(chat.prompt).toBeUndefined();
  const lg2 = endpointConfigFromSettings(
    { ...DEFAULT_SETTINGS, guardModel: 'llama-guard-2-8b', requestMode: 'raw', customCategories: custom },
    'k',
  );
  expect(lg2.prompt).toBeUndefined();
});

describe('customCategoryText', () => {
  it('writes sentences in the templates style', () => {
    expect(customCategoryText({ code: 'X1', name: 'Gambling', description: '' })).toBe('Gambling.');
    expect(customCategoryText({ code: 'X1', name: ' Spam  ', description: 'Ads!' })).toBe('Spam. Ads!');
  });
});

describe('missingEndpointSetting', () => {
  it('asks for a key where the preset needs one', () => {
    expect(missingEndpointSetting(DEFAULT_SETTINGS, '')).toMatch(/API key/);
    expect(missingEndpointSetting(DEFAULT_SETTINGS, 'k')).toBeNull();
  });
  it('needs a URL and a model for a custom endpoint', () => {
    expect(missingEndpointSetting({ ...DEFAULT_SETTINGS, provider: 'custom', baseUrl: '' }, '')).toMatch(
      /URL/,
    );
    expect(
      missingEndpointSetting(
        { ...DEFAULT_SETTINGS, provider: 'custom', baseUrl: 'http://localhost:1/v1', model: '' },
        '',
      ),
    ).toMatch(/model/);
  });
});
