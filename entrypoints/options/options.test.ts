import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { parseSiteLines } from '@/components/SiteList';
import { installMessages } from '@/components/testing/i18n';
import { exportSettings } from '@/lib/settings/io';
import { defaultSettings, type Settings } from '@/lib/settings/schema';
import { loadEffectiveSettings } from '@/utils/settings';
import { importSettingsFile } from './BackupSection';
import { presetPatch } from './EndpointSection';
import { rebaseDraft } from './OptionsApp';
import { customCategoriesNote, nextCustomCode } from './PolicySection';
import {
  IMAGE_ORIGINS,
  imageAccess,
  originsForBaseUrl,
  requestOrigins,
  toggleImages,
  watchOriginPermissions,
} from './permissions';

const settings = (patch: Partial<Settings> = {}): Settings => ({ ...defaultSettings(), ...patch });

beforeEach(() => {
  fakeBrowser.reset();
  installMessages();
});
afterEach(() => vi.restoreAllMocks());

describe('presetPatch', () => {
  it('brings the preset’s base URL, a generation it serves and that generation’s model id', () => {
    expect(presetPatch(settings({ guardModel: 'llama-guard-4-12b' }), 'fireworks')).toMatchObject({
      provider: 'fireworks',
      baseUrl: 'https://api.fireworks.ai/inference/v1',
      guardModel: 'llama-guard-3-8b',
      model: 'accounts/fireworks/models/llama-guard-3-8b',
    });
  });

  it('keeps the generation when the new preset serves it, and switches raw to chat where raw is not offered', () => {
    const patch = presetPatch(settings({ requestMode: 'raw', guardModel: 'llama-guard-4-12b' }), 'groq');
    expect(patch).toMatchObject({
      guardModel: 'llama-guard-4-12b',
      model: 'meta-llama/llama-guard-4-12b',
      requestMode: 'chat',
    });
  });

  it('clears the base URL for a custom endpoint and keeps the person’s own model id', () => {
    expect(presetPatch(settings({ model: 'my-guard' }), 'custom')).toMatchObject({
      baseUrl: '',
      model: 'my-guard',
    });
    const custom = settings({ provider: 'custom', baseUrl: 'https://guard.example/v1' });
    expect(presetPatch(custom, 'custom').baseUrl).toBe('https://guard.example/v1');
  });
});

describe('custom categories', () => {
  it('numbers a new category after the model’s own codes and the existing custom ones', () => {
    expect(nextCustomCode(settings({ guardModel: 'llama-guard-4-12b' }))).toBe('S15');
    expect(nextCustomCode(settings({ guardModel: 'llama-guard-3-1b' }))).toBe('S14');
    expect(
      nextCustomCode(
        settings({
          customCategories: [{ code: 'S15', name: 'A', description: '' }],
          guardModel: 'llama-guard-4-12b',
        }),
      ),
    ).toBe('S16');
    expect(nextCustomCode(settings({ guardModel: 'llama-guard-7b' }))).toBe('O7');
  });

  it('says why they do not apply: the model, a provider without raw mode, or chat mode', () => {
    expect(customCategoriesNote(settings({ guardModel: 'llama-guard-3-8b', requestMode: 'raw' }))).toContain(
      'Llama Guard 3 8B does not accept custom categories',
    );
    expect(customCategoriesNote(settings({ provider: 'groq', guardModel: 'llama-guard-4-12b' }))).toBe(
      'Custom categories need raw mode, which Groq does not offer.',
    );
    expect(
      customCategoriesNote(settings({ provider: 'together', guardModel: 'llama-guard-4-12b' })),
    ).toContain('choose “Raw”');
    expect(
      customCategoriesNote(
        settings({ provider: 'together', guardModel: 'llama-guard-4-12b', requestMode: 'raw' }),
      ),
    ).toBeNull();
  });
});

describe('endpoint permissions', () => {
  it('asks for a remote endpoint’s host (any port), and for nothing the manifest already grants', () => {
    expect(originsForBaseUrl('https://api.example.com:8443/v1')).toEqual({
      ok: true,
      origins: ['https://api.example.com/*'],
      origin: 'https://api.example.com:8443',
    });
    expect(originsForBaseUrl('http://127.0.0.1:11434/v1')).toMatchObject({ ok: true, origins: [] });
    expect(originsForBaseUrl('http://localhost:8080/v1')).toMatchObject({ ok: true, origins: [] });
    expect(originsForBaseUrl('https://localhost/v1')).toMatchObject({ origins: ['https://localhost/*'] });
    expect(originsForBaseUrl('http://[::1]:8000/v1')).toMatchObject({ origins: ['http://[::1]/*'] });
    expect(originsForBaseUrl('http://remote.example/v1')).toMatchObject({ ok: false });
  });

  it('requests the origins, and reads a refusal or an error as "not granted"', async () => {
    const permissions = browser.permissions as unknown as { request: (p: unknown) => Promise<boolean> };
    const request = vi.spyOn(permissions, 'request').mockResolvedValue(true);
    expect(await requestOrigins([])).toBe(true);
    expect(request).not.toHaveBeenCalled();
    expect(await requestOrigins(['https://api.example.com/*'])).toBe(true);
    expect(request).toHaveBeenCalledWith({ origins: ['https://api.example.com/*'] });
    request.mockResolvedValue(false);
    expect(await requestOrigins(['https://api.example.com/*'])).toBe(false);
    request.mockRejectedValue(new Error('not in a user gesture'));
    expect(await requestOrigins(['https://api.example.com/*'])).toBe(false);
  });
});

describe('site lists', () => {
  it('reads one site per line, canonicalises them, and reports lines that are not sites', () => {
    const parsed = parseSiteLines(
      'Bank.Example\n\n  *.health.example \nnot a site/\nhttps://mail.example/inbox\nbank.example',
    );
    expect(parsed.patterns).toEqual(['bank.example', '*.health.example', 'mail.example']);
    expect(parsed.problems).toHaveLength(1);
    expect(parsed.problems[0]).toContain('not a site/');
  });
});

describe('importSettingsFile', () => {
  it('saves the good settings of an export and the key it carries', async () => {
    const file = exportSettings(settings({ scanImages: false, excludedSites: ['bank.example'] }), {
      apiKey: 'sk-1',
    });
    const outcome = await importSettingsFile(file);
    expect(outcome.ok).toBe(true);
    expect(outcome.text).toMatch(/^Imported \d+ settings\.$/);
    const state = await loadEffectiveSettings();
    expect(state.settings.scanImages).toBe(false);
    expect(state.settings.excludedSites).toEqual(['bank.example']);
    expect(state.apiKey).toBe('sk-1');
  });

  it('saves nothing from a file that is not an export, and says why', async () => {
    const outcome = await importSettingsFile('{"hello": 1}');
    expect(outcome).toMatchObject({ ok: false, text: 'Nothing was imported.' });
    expect(outcome.problems[0]).toContain('not a Guardlens settings export');
    expect((await loadEffectiveSettings()).settings).toEqual(defaultSettings());
  });

  it('keeps the good fields and lists the bad ones', async () => {
    const file = JSON.stringify({
      format: 'guardlens-settings',
      version: 1,
      settings: { scanText: false, concurrency: 99 },
    });
    const outcome = await importSettingsFile(file);
    expect(outcome.ok).toBe(true);
    expect(outcome.problems.join(' ')).toContain('concurrency');
    expect((await loadEffectiveSettings()).settings.scanText).toBe(false);
  });
});

describe('rebaseDraft', () => {
  it('takes changes made elsewhere into the fields the person did not edit, and keeps their edits', () => {
    const before = settings();
    const after = settings({ pausedSites: ['news.example'], scanImages: false });
    const draft = settings({ scanImages: true, chunkTokens: 3000 });
    expect(rebaseDraft(before, after, draft)).toEqual(
      settings({ pausedSites: ['news.example'], scanImages: false, chunkTokens: 3000 }),
    );
    const edited = settings({ scanImages: true, dailyBudgetUsd: 2 });
    expect(
      rebaseDraft(
        settings({ scanImages: false }),
        settings({ scanImages: false, pausedSites: ['a.example'] }),
        edited,
      ),
    ).toEqual(settings({ scanImages: true, dailyBudgetUsd: 2, pausedSites: ['a.example'] }));
  });
});

describe('image permissions', () => {
  type Api = {
    request: (p: unknown) => Promise<boolean>;
  };
  it('asks for all sites in the click that turns images on, before anything is awaited', async () => {
    const permissions = browser.permissions as unknown as Api;
    const request = vi.spyOn(permissions, 'request').mockResolvedValue(false);
    const update = vi.fn();
    const granted = vi.fn();
    const done = toggleImages(true, update, granted);
    // Synchronously, in the same task as the click.
    expect(request).toHaveBeenCalledWith({ origins: [...IMAGE_ORIGINS] });
    expect(update).toHaveBeenCalledWith({ scanImages: true });
    await done;
    // Refused: images stay on (the page's own images are still checked) and the section says what is missing.
    expect(granted).toHaveBeenCalledWith(false);
    expect(IMAGE_ORIGINS).toEqual(['https://*/*', 'http://*/*']);
  });

  it('asks nothing when the access is already there', async () => {
    const request = vi.spyOn(browser.permissions as unknown as Api, 'request').mockResolvedValue(true);
    const update = vi.fn();
    await toggleImages(true, update, vi.fn(), true);
    expect(request).not.toHaveBeenCalled();
    expect(update).toHaveBeenCalledWith({ scanImages: true });
  });

  it('asks nothing when images are turned off', async () => {
    const request = vi.spyOn(browser.permissions as unknown as Api, 'request').mockResolvedValue(true);
    const update = vi.fn();
    const granted = vi.fn();
    await toggleImages(false, update, granted);
    expect(request).not.toHaveBeenCalled();
    expect(update).toHaveBeenCalledWith({ scanImages: false });
    expect(granted).not.toHaveBeenCalled();
  });

  it('says whether images from other sites can be checked', () => {
    expect(imageAccess(false, false)).toBe('off');
    expect(imageAccess(true, undefined)).toBe('unknown');
    expect(imageAccess(true, true)).toBe('granted');
    expect(imageAccess(true, false)).toBe('needed');
  });

  it('hears when the browser grants or takes back an origin, not other permissions', () => {
    const added: Array<(p: { origins?: string[] }) => void> = [];
    const removed: Array<(p: { origins?: string[] }) => void> = [];
    const api = browser.permissions as unknown as {
      onAdded: { addListener: (fn: never) => void; removeListener: (fn: never) => void };
      onRemoved: { addListener: (fn: never) => void; removeListener: (fn: never) => void };
    };
    vi.spyOn(api.onAdded, 'addListener').mockImplementation((fn) => void added.push(fn));
    vi.spyOn(api.onRemoved, 'addListener').mockImplementation((fn) => void removed.push(fn));
    const offAdded = vi.spyOn(api.onAdded, 'removeListener').mockImplementation(() => undefined);
    const offRemoved = vi.spyOn(api.onRemoved, 'removeListener').mockImplementation(() => undefined);
    const onChange = vi.fn();
    const unwatch = watchOriginPermissions(onChange);
    removed[0]!({ origins: ['https://*/*'] });
    added[0]!({ permissions: [] } as { origins?: string[] });
    expect(onChange).toHaveBeenCalledTimes(1);
    unwatch();
    expect(offAdded).toHaveBeenCalled();
    expect(offRemoved).toHaveBeenCalled();
  });
});
