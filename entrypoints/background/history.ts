/**
 * Listens to the engine for flagged items and
 * - logs them in the history (`utils/history.ts`) while the person's `historyEnabled` is on;
 * - remembers, per tab, which frame each flagged element is in and, for images, a picture the popup may show
 *   (kept in `storage.session` under `items:<tabId>`, so a stopped service worker loses nothing; dropped with the
 *   tab or when the tab starts a new page).
 *
 * `registerHistory(context)` is called once from the background's start-up; it attaches to the engine host as
 * soon as one exists (and again to a host created after an earlier one failed to start).
 */
import { snippetOf } from '@/lib/engine/tabs';
import type { TabState, WorkItem } from '@/lib/engine/types';
import { describeCategory, getGuardModel, type MessageLookup } from '@/lib/guard/registry';
import type { Verdict } from '@/lib/guard/types';
import { hostOfUrl, type Settings } from '@/lib/settings/schema';
import { appendHistory, type HistoryEntry, MAX_HISTORY_SNIPPET } from '@/utils/history';
import { lookupMessage } from '@/utils/i18n';
import type { BackgroundContext } from './context';
import type { EngineHost } from './host';

/** A picture kept for the popup: a `data:` image up to this many characters, or an http(s) URL. */
export const MAX_THUMBNAIL_CHARS = 120_000;
/** Flagged elements remembered per tab. */
export const MAX_ITEMS_PER_TAB = 200;

export interface ItemExtra {
  frameId: number;
  thumbnail?: string;
}

const itemsKey = (tabId: number) => `items:${tabId}`;

/** Refs are unique within a frame only: the record of an element is keyed by both. */
export const extraKey = (frameId: number, ref: string) => `${frameId}:${ref}`;

/** What is remembered about the flagged elements of a tab, by `extraKey(frameId, ref)`. */
export async function tabItemExtras(tabId: number): Promise<Record<string, ItemExtra>> {
  const key = itemsKey(tabId);
  const stored = (await browser.storage.session.get(key))[key];
  return stored && typeof stored === 'object' ? (stored as Record<string, ItemExtra>) : {};
}

/** A picture of an image item the popup may show, or undefined. */
export function thumbnailOf(item: Pick<WorkItem, 'kind' | 'imageData' | 'imageUrl'>): string | undefined {
  if (item.kind !== 'image') return undefined;
  if (
    item.imageData &&
    /^data:image\/(png|jpe?g|gif|webp|avif|bmp);/i.test(item.imageData) &&
    item.imageData.length <= MAX_THUMBNAIL_CHARS
  )
    return item.imageData;
  if (item.imageUrl && /^https?:\/\//i.test(item.imageUrl) && item.imageUrl.length <= 2048)
    return item.imageUrl;
  return undefined;
}

/** The history entry for a flagged item. */
export function historyEntryFor(
  settings: Pick<Settings, 'guardModel' | 'customCategories'>,
  item: WorkItem,
  verdict: Verdict,
  now: number,
  lookup?: MessageLookup,
): HistoryEntry | null {
  let url: URL;
  try {
    url = new URL(item.url);
  } catch {
    return null;
  }
  const model = getGuardModel(settings.guardModel);
  const names = verdict.categories.map(
    (code) =>
      settings.customCategories.find((c) => c.code === code)?.name ??
      describeCategory(model, code, lookup)?.name ??
      code,
  );
  const page = `${url.origin}${url.pathname}`;
  return {
    at: now,
    site: hostOfUrl(url) ?? url.host,
    url: page,
    kind: item.kind,
    categories: [...verdict.categories],
    names,
    snippet: snippetOf(item, MAX_HISTORY_SNIPPET),
    key: `${item.tabId}|${page}|${item.ref}|${item.id.slice(0, 16)}`,
  };
}

const attached = new WeakSet<EngineHost>();
// Session writes of one tab run one after another.
const chains = new Map<number, Promise<unknown>>();
function inTab(tabId: number, task: () => Promise<void>): void {
  const run = (chains.get(tabId) ?? Promise.resolve()).then(task, task).catch(() => undefined);
  chains.set(tabId, run);
  void run.then(() => {
    if (chains.get(tabId) === run) chains.delete(tabId);
  });
}

function remember(item: WorkItem): void {
  inTab(item.tabId, async () => {
    const extras = await tabItemExtras(item.tabId);
    const key = extraKey(item.frameId, item.ref);
    if (!(key in extras) && Object.keys(extras).length >= MAX_ITEMS_PER_TAB) return;
    const extra: ItemExtra = { frameId: item.frameId };
    const thumbnail = thumbnailOf(item);
    if (thumbnail) extra.thumbnail = thumbnail;
    extras[key] = extra;
    await browser.storage.session.set({ [itemsKey(item.tabId)]: extras });
  });
}

function forget(tabId: number): void {
  inTab(tabId, () => browser.storage.session.remove(itemsKey(tabId)));
}

/** Connects the history and the per-tab item records to an engine host (once per host). */
export function attachHistory(h: EngineHost): void {
  if (attached.has(h)) return;
  attached.add(h);
  h.engine.onVerdict((item, verdict) => {
    if (verdict.safe || item.tabId < 0) return;
    remember(item);
    if (!h.state.settings.historyEnabled) return;
    const entry = historyEntryFor(h.state.settings, item, verdict, Date.now(), lookupMessage);
    if (entry) void appendHistory([entry]).catch(() => undefined);
  });
  h.engine.onTabState((tabId: number, state: TabState | null) => {
    // A closed tab, or a tab that started a new page: its elements are gone.
    if (state === null || (state.flagged.length === 0 && state.scanned === 0)) forget(tabId);
  });
}

/**
 * Attaches the history to the engine host at start-up. A host that could not start is created again on the
 * next event; the popup's `tab:state` handler attaches to that one (`attachHistory`), and this tries again a few
 * times meanwhile.
 */
export function registerHistory({ host }: BackgroundContext): void {
  let retries = 0;
  const connect = () => {
    host().then(attachHistory, () => {
      if (retries++ < 5) setTimeout(connect, 2000 * retries);
    });
  };
  connect();
}
