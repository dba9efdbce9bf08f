import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import {
  appendHistory,
  clearHistory,
  csvCell,
  type HistoryEntry,
  historyItem,
  historyToCsv,
  historyToJson,
  MAX_HISTORY_ENTRIES,
  MAX_HISTORY_SNIPPET,
  readHistory,
} from './history';

const entry = (n: number, patch: Partial<HistoryEntry> = {}): HistoryEntry => ({
  at: 1_700_000_000_000 + n * 1000,
  site: 'news.example',
  url: 'https://news.example/a',
  kind: 'text',
  categories: ['S1'],
  names: ['Violent Crimes'],
  snippet: `snippet ${n}`,
  key: `k${n}`,
  ...patch,
});

beforeEach(() => {
  fakeBrowser.reset();
});

describe('history store', () => {
  it('appends entries in order and reads them back', async () => {
    expect(await readHistory()).toEqual([]);
    expect(await appendHistory([entry(1), entry(2)])).toBe(2);
    expect(await appendHistory([entry(3)])).toBe(1);
    expect((await readHistory()).map((e) => e.key)).toEqual(['k1', 'k2', 'k3']);
  });

  it('does not log the same element and content twice (a rescan or a reload)', async () => {
    await appendHistory([entry(1)]);
    expect(await appendHistory([entry(1, { at: 1_800_000_000_000 }), entry(1)])).toBe(0);
    expect(await readHistory()).toHaveLength(1);
  });

  it('keeps at most MAX_HISTORY_ENTRIES, dropping the oldest', async () => {
    const many = Array.from({ length: MAX_HISTORY_ENTRIES + 25 }, (_, i) => entry(i));
    await appendHistory(many);
    const kept = await readHistory();
    expect(kept).toHaveLength(MAX_HISTORY_ENTRIES);
    expect(kept[0]!.key).toBe('k25');
    expect(kept.at(-1)!.key).toBe(`k${MAX_HISTORY_ENTRIES + 24}`);
  });

  it('shortens long snippets', async () => {
    await appendHistory([entry(1, { snippet: 'x'.repeat(1000) })]);
    const [kept] = await readHistory();
    expect(Array.from(kept!.snippet)).toHaveLength(MAX_HISTORY_SNIPPET);
    expect(kept!.snippet.endsWith('…')).toBe(true);
  });

  it('runs concurrent appends one after another, losing none', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => appendHistory([entry(i)])));
    expect(await readHistory()).toHaveLength(20);
  });

  it('clears, and an append that read the old list before the clear cannot bring it back', async () => {
    await appendHistory([entry(1), entry(2)]);
    const stale = await historyItem.getValue();
    await clearHistory(entry(2).at);
    expect(await readHistory()).toEqual([]);
    // A writer that read the list before the clear writes it back with a new entry.
    await historyItem.setValue([...stale, entry(3)]);
    expect((await readHistory()).map((e) => e.key)).toEqual(['k3']);
  });

  it('ignores malformed stored entries', async () => {
    await fakeBrowser.storage.local.set({ history: [entry(1), { at: 'x' }, null, 7] });
    expect((await readHistory()).map((e) => e.key)).toEqual(['k1']);
  });
});

describe('history export', () => {
  it('writes CSV with a header, quoting and neutralised formulas', () => {
    const csv = historyToCsv([
      entry(1, {
        snippet: 'He said "stop", then left\nfor good',
        categories: ['S1', 'S10'],
        names: ['A', 'B'],
      }),
      entry(2, { snippet: '=HYPERLINK("http://evil.example")' }),
    ]);
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe('time,site,url,kind,categories,names,snippet');
    expect(csv).toContain('"He said ""stop"", then left\nfor good"');
    expect(csv).toContain(
      `${new Date(entry(1).at).toISOString()},news.example,https://news.example/a,text,S1 S10,A; B,`,
    );
    expect(csv).toContain(`"'=HYPERLINK(""http://evil.example"")"`);
    expect(csv.endsWith('\r\n')).toBe(true);
  });

  it('prefixes every cell a spreadsheet would run as a formula', () => {
    for (const start of ['=', '+', '-', '@', '\t', '\r'])
      expect(csvCell(`${start}1`).replace(/^"/, '')).toMatch(/^'/);
    expect(csvCell('plain')).toBe('plain');
  });

  it('writes self-describing JSON without the internal key', () => {
    const json = JSON.parse(historyToJson([entry(1)], new Date('2026-01-02T03:04:05Z')));
    expect(json).toEqual({
      format: 'guardlens-history',
      version: 1,
      exportedAt: '2026-01-02T03:04:05.000Z',
      entries: [
        {
          time: new Date(entry(1).at).toISOString(),
          site: 'news.example',
          url: 'https://news.example/a',
          kind: 'text',
          categories: ['S1'],
          names: ['Violent Crimes'],
          snippet: 'snippet 1',
        },
      ],
    });
  });
});
