import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { engineSentence } from '@/lib/engine/engine-text';
import type { EngineStatus } from '@/lib/engine/scheduler';
import { emptyTabState, type TabState } from '@/lib/engine/types';
import { defaultSettings, type Settings } from '@/lib/settings/schema';
import type { EngineHost } from './host';
import { buildTabView, categoryViews, isExtensionPage, itemViews } from './popup-handlers';

beforeEach(() => {
  fakeBrowser.reset();
});

const settings = (patch: Partial<Settings> = {}): Settings => ({ ...defaultSettings(), ...patch });

const status: EngineStatus = {
  state: 'ok',
  pending: 0,
  inFlight: 0,
  today: { requests: 3, promptTokens: 900, completionTokens: 6, costUsd: 0.0002 },
};

function fakeHost(
  s: Settings,
  tab: TabState | undefined,
  opts: { missing?: string | null } = {},
): EngineHost {
  return {
    state: { settings: s },
    endpoint: { lastLatencyMs: 120 },
    status: () => ({ ...status, notConfigured: opts.missing ?? null }),
    engine: { tabState: () => tab },
  } as unknown as EngineHost;
}

describe('isExtensionPage', () => {
  it('accepts this extension’s pages, in the popup or in a tab, and nothing else', () => {
    const id = fakeBrowser.runtime.id;
    const page = browser.runtime.getURL('/popup.html?tabId=3');
    expect(isExtensionPage({ id, url: page }, id)).toBe(true);
    expect(isExtensionPage({ id, url: 'https://evil.example/' }, id)).toBe(false);
    expect(isExtensionPage({ id: 'other', url: page }, id)).toBe(false);
    expect(isExtensionPage({ id }, id)).toBe(false);
    expect(isExtensionPage(undefined, id)).toBe(false);
  });
});

describe('categoryViews', () => {
  it('names categories from the model card and the person’s own, in table order, with their actions', () => {
    const s = settings({
      guardModel: 'llama-guard-4-12b',
      requestMode: 'raw',
      provider: 'together',
      customCategories: [{ code: 'S15', name: 'Gambling', description: 'Betting.' }],
      categoryActions: { S10: 'label', S15: 'hide' },
    });
    expect(categoryViews(s, { S15: 1, S10: 2, S2: 1, X9: 1, S3: 0 })).toEqual([
      {
        code: 'S2',
        name: 'Non-Violent Crimes',
        description: expect.any(String),
        count: 1,
        action: 'blur',
        custom: false,
      },
      {
        code: 'S10',
        name: 'Hate',
        description: expect.any(String),
        count: 2,
        action: 'label',
        custom: false,
      },
      { code: 'S15', name: 'Gambling', description: 'Betting.', count: 1, action: 'hide', custom: true },
      { code: 'X9', name: 'X9', description: '', count: 1, action: 'blur', custom: false },
    ]);
  });

  it('uses the codes of the chosen generation (Llama Guard 2’s S5 is not Llama Guard 3’s)', () => {
    expect(categoryViews(settings({ guardModel: 'llama-guard-2-8b' }), { S5: 1 })[0]!.name).toBe(
      'Specialized Advice',
    );
    expect(categoryViews(settings({ guardModel: 'llama-guard-3-8b' }), { S5: 1 })[0]!.name).toBe(
      'Defamation',
    );
  });
});

describe('categoryViews in another language', () => {
  afterEach(() => vi.restoreAllMocks());

  it('takes built-in names and descriptions from the messages file, and keeps the person’s own', () => {
    const french: Record<string, string> = {
      cat_lg3_S1_name: 'Crimes violents',
      cat_lg3_S1_desc: 'Violence.',
    };
    vi.spyOn(browser.i18n as unknown as { getMessage(k: string): string }, 'getMessage').mockImplementation(
      (key) => french[key] ?? '',
    );
    const s = settings({
      guardModel: 'llama-guard-4-12b',
      customCategories: [{ code: 'S15', name: 'Gambling', description: 'Betting.' }],
    });
    expect(categoryViews(s, { S1: 1, S2: 1, S15: 1 }).map((v) => [v.name, v.description])).toEqual([
      ['Crimes violents', 'Violence.'],
      // No translation: the registry's English.
      ['Non-Violent Crimes', 'Enabling fraud, scams, theft, hacking, drug or weapons crimes.'],
      ['Gambling', 'Betting.'],
    ]);
  });
});

describe('itemViews', () => {
  it('adds each element’s frame and thumbnail', () => {
    const state: TabState = {
      ...emptyTabState('https://a.example/'),
      flagged: [
        { ref: 'b1', frameId: 0, kind: 'text', categories: ['S1'], snippet: 'x' },
        { ref: 'i1', frameId: 4, kind: 'image', categories: ['S12'], snippet: 'alt' },
      ],
    };
    expect(itemViews(state, { '4:i1': { frameId: 4, thumbnail: 'data:image/png;base64,AA' } })).toEqual([
      { ref: 'b1', frameId: 0, kind: 'text', categories: ['S1'], snippet: 'x' },
      {
        ref: 'i1',
        frameId: 4,
        kind: 'image',
        categories: ['S12'],
        snippet: 'alt',
        thumbnail: 'data:image/png;base64,AA',
      },
    ]);
    expect(itemViews(undefined, {})).toEqual([]);
  });
});

describe('buildTabView', () => {
  async function tab(url: string): Promise<number> {
    return (await fakeBrowser.tabs.create({ url })).id!;
  }

  it('describes a scanned tab: site, counts, engine status, endpoint and usage', async () => {
    const id = await tab('https://news.example/story');
    const state = { ...emptyTabState('https://news.example/story'), scanned: 5, categoryCounts: { S1: 1 } };
    const view = await buildTabView(fakeHost(settings({ provider: 'groq' }), state), id);
    expect(view).toMatchObject({
      tabId: id,
      url: 'https://news.example/story',
      host: 'news.example',
      configured: true,
      scanOnDemand: false,
      state,
      categories: [{ code: 'S1', name: 'Violent Crimes', count: 1 }],
      engine: { state: 'ok', today: { requests: 3, promptTokens: 900, completionTokens: 6 } },
      endpoint: {
        provider: 'groq',
        providerLabel: 'Groq',
        guardModelLabel: 'Llama Guard 4 12B',
        costKnown: true,
        lastLatencyMs: 120,
      },
    });
    expect(view.inactiveReason).toBeUndefined();
  });

  it('passes the engine’s waiting reason on with its message key', async () => {
    const id = await tab('https://news.example/story');
    const offline = engineSentence('engine_error_offline');
    const h = fakeHost(settings({ provider: 'groq' }), undefined);
    const waiting = { ...h.status(), state: 'offline', reason: offline.english, reasonText: offline.text };
    const view = await buildTabView({ ...h, status: () => waiting } as unknown as EngineHost, id);
    expect(view.engine).toMatchObject({
      state: 'offline',
      reason: 'The browser is offline.',
      reasonText: { key: 'engine_error_offline' },
    });
  });

  it('carries the last context-menu check of the tab', async () => {
    const id = await tab('https://news.example/story');
    const check = {
      kind: 'text',
      snippet: 'GLTEST-S1 x',
      status: 'flagged',
      categories: ['S1'],
      names: ['Violent Crimes'],
      at: 5,
    };
    await fakeBrowser.storage.session.set({ [`check:${id}`]: check, 'check:999': { bad: true } });
    expect((await buildTabView(fakeHost(settings(), undefined), id)).manualCheck).toEqual(check);
    const other = await tab('https://other.example/');
    expect((await buildTabView(fakeHost(settings(), undefined), other)).manualCheck).toBeUndefined();
  });

  it('says why a tab is not scanned', async () => {
    const page = await tab('https://bank.example/');
    const s = settings({ excludedSites: ['bank.example'], pausedSites: ['news.example'] });
    expect((await buildTabView(fakeHost(s, undefined), page)).inactiveReason).toBe('excluded');
    const paused = await tab('https://news.example/');
    expect((await buildTabView(fakeHost(s, undefined), paused)).inactiveReason).toBe('paused');
    const internal = await tab('chrome://extensions/');
    expect((await buildTabView(fakeHost(s, undefined), internal)).inactiveReason).toBe('unsupported');
    const view = await buildTabView(fakeHost(s, undefined, { missing: 'Groq needs an API key.' }), page);
    expect(view).toMatchObject({
      configured: false,
      notConfigured: 'Groq needs an API key.',
      inactiveReason: 'not-configured',
    });
    const custom = await buildTabView(fakeHost(settings({ provider: 'custom' }), undefined), page);
    expect(custom.endpoint.costKnown).toBe(false);
  });
});
