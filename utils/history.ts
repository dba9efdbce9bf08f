/**
 * The history of flagged items: a bounded log kept in this browser only (`local:history`, never synced, never
 * sent anywhere), written by the background (`entrypoints/background/history.ts`) while `historyEnabled` is on,
 * and shown, exported (CSV, JSON) and cleared on the options page.
 *
 * Clearing writes a `local:historyClearedAt` time as well as an empty list, and every read leaves out entries
 * from before it: a background append that read the list just before it was cleared cannot bring it back.
 */
import { storage } from '@wxt-dev/storage';
import type { ItemKind } from '@/lib/engine/types';

/** Most entries kept; the oldest go first. */
export const MAX_HISTORY_ENTRIES = 500;
/** Longest snippet kept per entry. */
export const MAX_HISTORY_SNIPPET = 200;

export interface HistoryEntry {
  /** When it was flagged (epoch ms). */
  at: number;
  /** The page's host. */
  site: string;
  /** The page's address without its query and fragment. */
  url: string;
  kind: ItemKind;
  /** Category codes the model reported. */
  categories: string[];
  /** The model card's names for them (the person's own names for custom categories), same order. */
  names: string[];
  /** The start of the flagged text (or an image's alt text). Page content: show it as text only. */
  snippet: string;
  /** Identifies the element and content, so a rescan or reload of the same page is not logged again. */
  key: string;
}

export const historyItem = storage.defineItem<HistoryEntry[]>('local:history', { fallback: [] });
export const historyClearedAtItem = storage.defineItem<number>('local:historyClearedAt', { fallback: 0 });

function isEntry(x: unknown): x is HistoryEntry {
  if (!x || typeof x !== 'object') return false;
  const e = x as Record<string, unknown>;
  return (
    typeof e.at === 'number' &&
    typeof e.site === 'string' &&
    typeof e.url === 'string' &&
    typeof e.kind === 'string' &&
    Array.isArray(e.categories) &&
    Array.isArray(e.names) &&
    typeof e.snippet === 'string' &&
    typeof e.key === 'string'
  );
}

/** The entries kept, oldest first (malformed ones and those from before the last clear left out). */
export async function readHistory(): Promise<HistoryEntry[]> {
  const [entries, clearedAt] = await Promise.all([historyItem.getValue(), historyClearedAtItem.getValue()]);
  return (Array.isArray(entries) ? entries : []).filter((e) => isEntry(e) && e.at > (clearedAt ?? 0));
}

// Appends from this context run one after another.
let chain: Promise<unknown> = Promise.resolve();

/**
 * Adds entries whose `key` is not logged yet, keeping at most `MAX_HISTORY_ENTRIES`. Returns how many were
 * added.
 */
export function appendHistory(entries: readonly HistoryEntry[]): Promise<number> {
  const run = chain.then(async () => {
    const current = await readHistory();
    const keys = new Set(current.map((e) => e.key));
    const fresh: HistoryEntry[] = [];
    for (const entry of entries) {
      if (!isEntry(entry) || keys.has(entry.key)) continue;
      keys.add(entry.key);
      fresh.push({ ...entry, snippet: clip(entry.snippet, MAX_HISTORY_SNIPPET) });
    }
    if (fresh.length === 0) return 0;
    await historyItem.setValue([...current, ...fresh].slice(-MAX_HISTORY_ENTRIES));
    return fresh.length;
  });
  chain = run.catch(() => undefined);
  return run;
}

/** Forgets every entry. */
export async function clearHistory(now = Date.now()): Promise<void> {
  await historyClearedAtItem.setValue(now);
  await historyItem.setValue([]);
}

function clip(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text;
}

// ---------------------------------------------------------------------------------------------------------------
// Export

export const HISTORY_EXPORT_FORMAT = 'guardlens-history';
export const HISTORY_CSV_COLUMNS = ['time', 'site', 'url', 'kind', 'categories', 'names', 'snippet'] as const;

/**
 * One CSV cell: quoted when it holds a comma, quote or line break; a cell that a spreadsheet would read as a
 * formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is prefixed with `'` — the snippets are
 * page content, and a page must not be able to plant a formula in the person's spreadsheet.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The history as CSV (RFC 4180 line endings, a header row, times in ISO 8601 UTC). */
export function historyToCsv(entries: readonly HistoryEntry[]): string {
  const rows = entries.map((e) =>
    [
      new Date(e.at).toISOString(),
      e.site,
      e.url,
      e.kind,
      e.categories.join(' '),
      e.names.join('; '),
      e.snippet,
    ]
      .map(csvCell)
      .join(','),
  );
  return `${[HISTORY_CSV_COLUMNS.join(','), ...rows].join('\r\n')}\r\n`;
}

/** The history as a self-describing JSON file. */
export function historyToJson(entries: readonly HistoryEntry[], exportedAt = new Date()): string {
  const file = {
    format: HISTORY_EXPORT_FORMAT,
    version: 1,
    exportedAt: exportedAt.toISOString(),
    entries: entries.map(({ key: _key, at, ...rest }) => ({ time: new Date(at).toISOString(), ...rest })),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}
