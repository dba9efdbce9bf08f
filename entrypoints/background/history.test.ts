import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { emptyTabState, type TabState, type WorkItem } from '@/lib/engine/types';
import type { Verdict } from '@/lib/guard/types';
import { defaultSettings, type Settings } from '@/lib/settings/schema';
import { readHistory } from '@/utils/history';
import { attachHistory, historyEntryFor, MAX_THUMBNAIL_CHARS, tabItemExtras, thumbnailOf } from './history';
import type { EngineHost } from './host';

type VerdictListener = (item: WorkItem, verdict: Verdict) => void;
type TabListener = (tabId: number, state: TabState | null) => void;

/** The parts of the engine host the history listens to. */
function fakeHost(settings: Settings) {
  const verdict: VerdictListener[] = [];
  const tab: TabListener[] = [];
  const host = {
    state: { settings },
    engine: {
      onVerdict: (fn: VerdictListener) => verdict.push(fn),
      onTabState: (fn: TabListener) => tab.push(fn),
    },
  };
  return {
    host: host as unknown as EngineHost,
    settings,
    verdict: (item: WorkItem, v: Verdict) => {
      for (const fn of verdict) fn(item, v);
    },
    tab: (tabId: number, state: TabState | null) => {
      for (const fn of tab) fn(tabId, state);
    },
    listeners: () => verdict.length + tab.length,
  };
}

const unsafe = (...categories: string[]): Verdict => ({ safe: false, categories, unknownCategories: [] });
const safe: Verdict = { safe: true, categories: [], unknownCategories: [] };

const item = (patch: Partial<WorkItem> = {}): WorkItem => ({
  id: 'a'.repeat(64),
  kind: 'text',
  text: 'GLTEST-S1 a paragraph',
  tabId: 7,
  frameId: 0,
  url: 'https://news.example/story?id=3#top',
  ref: 'b1',
  priority: 'page',
  ...patch,
});

/** Lets the storage writes the listeners started finish. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

beforeEach(() => {
  fakeBrowser.reset();
});

describe('history recorder', () => {
  it('logs a flagged item with site, page, names and snippet, and not a safe one', async () => {
    const f = fakeHost(defaultSettings());
    attachHistory(f.host);
    f.verdict(item({ ref: 'b2', id: 'b'.repeat(64) }), safe);
    f.verdict(item(), unsafe('S1', 'S10'));
    await settle();
    const [entry, ...rest] = await readHistory();
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({
      site: 'news.example',
      url: 'https://news.example/story',
      kind: 'text',
      categories: ['S1', 'S10'],
      names: ['Violent Crimes', 'Hate'],
      snippet: 'GLTEST-S1 a paragraph',
    });
  });

  it('attaches once per host', () => {
    const f = fakeHost(defaultSettings());
    attachHistory(f.host);
    attachHistory(f.host);
    expect(f.listeners()).toBe(2);
  });

  it('logs nothing while history is off, but still remembers the element for the popup', async () => {
    const f = fakeHost({ ...defaultSettings(), historyEnabled: false });
    attachHistory(f.host);
    f.verdict(item({ frameId: 3 }), unsafe('S1'));
    await settle();
    expect(await readHistory()).toEqual([]);
    expect(await tabItemExtras(7)).toEqual({ '3:b1': { frameId: 3 } });
  });

  it('does not log the same element again when the page is rescanned', async () => {
    const f = fakeHost(defaultSettings());
    attachHistory(f.host);
    f.verdict(item(), unsafe('S1'));
    f.verdict(item(), unsafe('S1'));
    await settle();
    expect(await readHistory()).toHaveLength(1);
  });

  it('names custom categories with the person’s own names', () => {
    const settings = {
      ...defaultSettings(),
      customCategories: [{ code: 'S15', name: 'Gambling', description: 'Betting sites' }],
    };
    const entry = historyEntryFor(settings, item(), unsafe('S15', 'S99'), 5);
    expect(entry?.names).toEqual(['Gambling', 'S99']);
    expect(entry?.at).toBe(5);
  });

  it('keeps a thumbnail for flagged images and forgets a tab’s elements when it closes or starts afresh', async () => {
    const f = fakeHost(defaultSettings());
    attachHistory(f.host);
    const png = 'data:image/png;base64,iVBORw0KGgo=';
    f.verdict(item({ kind: 'image', ref: 'i1', text: '', imageData: png }), unsafe('S12'));
    await settle();
    expect(await tabItemExtras(7)).toEqual({ '0:i1': { frameId: 0, thumbnail: png } });
    f.tab(7, emptyTabState('https://news.example/next'));
    await settle();
    expect(await tabItemExtras(7)).toEqual({});
    f.verdict(item({ ref: 'b5' }), unsafe('S1'));
    await settle();
    f.tab(7, null);
    await settle();
    expect(await tabItemExtras(7)).toEqual({});
  });
});

describe('thumbnailOf', () => {
  it('takes small data images and http(s) URLs of image items only', () => {
    expect(thumbnailOf({ kind: 'image', imageData: 'data:image/jpeg;base64,AAAA' })).toBe(
      'data:image/jpeg;base64,AAAA',
    );
    expect(thumbnailOf({ kind: 'image', imageUrl: 'https://cdn.example/a.png' })).toBe(
      'https://cdn.example/a.png',
    );
    expect(thumbnailOf({ kind: 'text', imageUrl: 'https://cdn.example/a.png' })).toBeUndefined();
    expect(thumbnailOf({ kind: 'image', imageUrl: 'javascript:alert(1)' })).toBeUndefined();
    expect(thumbnailOf({ kind: 'image', imageData: 'data:text/html;base64,PHA+' })).toBeUndefined();
    expect(
      thumbnailOf({ kind: 'image', imageData: `data:image/png;base64,${'A'.repeat(MAX_THUMBNAIL_CHARS)}` }),
    ).toBeUndefined();
  });
});
