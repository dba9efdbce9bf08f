/**
 * Context menu: "Check selected text with Guardlens", "Check this image with Guardlens" and "Scan this page
 * with Guardlens". A check's result is shown on the page (`page:check-result`, a toast; a flagged image is also
 * blurred) and kept for the popup in `storage.session` under `manualCheckKey(tabId)` until the tab closes or
 * loads another page. Nothing is sent from an excluded or paused site.
 */
import type { Browser } from 'wxt/browser';
import { resolveAction } from '@/lib/settings/actions';
import { type ManualCheck, sendMessage } from '@/utils/messages';
import { manualCheckKey } from '@/utils/protocol/page';
import type { BackgroundContext } from './context';
import type { EngineHost } from './host';
import { categoryMessage } from './i18n';
import { checkImage, type ImageCodec, imageSupport } from './images';
import { inactiveReason, scanTab } from './page-handlers';

export const MENU_CHECK_SELECTION = 'guardlens-check-selection';
export const MENU_CHECK_IMAGE = 'guardlens-check-image';
export const MENU_SCAN_PAGE = 'guardlens-scan-page';

const SNIPPET_CHARS = 140;

const REFUSED: Record<string, string> = {
  excluded: 'This site is excluded in Guardlens’ settings.',
  paused: 'Guardlens is paused on this site.',
  incognito: 'Guardlens is not allowed in private windows.',
  'not-configured': 'Guardlens has no endpoint set up yet: open its options.',
  disabled: 'Guardlens cannot check this page.',
};

type MenuKey = 'page_menuCheckSelection' | 'page_menuCheckImage' | 'page_menuScanPage';

function title(key: MenuKey, fallback: string): string {
  try {
    return browser.i18n.getMessage(key) || fallback;
  } catch {
    return fallback;
  }
}

async function createMenus(): Promise<void> {
  const api = browser.contextMenus;
  await api.removeAll();
  const items: Browser.contextMenus.CreateProperties[] = [
    {
      id: MENU_CHECK_SELECTION,
      title: title('page_menuCheckSelection', 'Check selected text with Guardlens'),
      contexts: ['selection'],
    },
    {
      id: MENU_CHECK_IMAGE,
      title: title('page_menuCheckImage', 'Check this image with Guardlens'),
      contexts: ['image'],
    },
    {
      id: MENU_SCAN_PAGE,
      title: title('page_menuScanPage', 'Scan this page with Guardlens'),
      contexts: ['page'],
    },
  ];
  for (const item of items) {
    await new Promise<void>((resolve) => {
      api.create(item, () => {
        void browser.runtime.lastError;
        resolve();
      });
    });
  }
}

function snippet(text: string): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  return clean.length > SNIPPET_CHARS ? `${clean.slice(0, SNIPPET_CHARS - 1)}…` : clean;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

let nextRef = 1;

/** Runs the check a menu item asks for and returns its result (without showing it). */
export async function runMenuCheck(
  h: EngineHost,
  info: Pick<
    Browser.contextMenus.OnClickData,
    'menuItemId' | 'selectionText' | 'srcUrl' | 'frameId' | 'frameUrl' | 'pageUrl'
  >,
  tab: Pick<Browser.tabs.Tab, 'id' | 'url' | 'incognito'>,
  readBlob: (src: string) => Promise<string>,
  codec?: ImageCodec,
): Promise<ManualCheck> {
  const image = info.menuItemId === MENU_CHECK_IMAGE;
  const src = info.srcUrl ?? '';
  const base: ManualCheck = {
    kind: image ? 'image' : 'text',
    snippet: snippet(image ? src.slice(0, 300) : (info.selectionText ?? '')),
    status: 'safe',
    categories: [],
    names: [],
    at: Date.now(),
  };
  if (image) base.src = src;
  const url = info.frameUrl ?? info.pageUrl ?? tab.url ?? '';
  const reason = inactiveReason(h, url, tab);
  if (reason) return { ...base, status: 'refused', reason: REFUSED[reason] ?? reason };
  const place = { tabId: tab.id!, frameId: info.frameId ?? 0, url, ref: `menu${nextRef++}` };
  if (image) {
    const unsupported = imageSupport(h.state.settings);
    if (unsupported) return { ...base, status: 'refused', reason: unsupported };
    if (!src) return { ...base, status: 'error', reason: 'The image has no address.' };
    let dataOrUrl = src;
    if (src.startsWith('blob:')) {
      try {
        dataOrUrl = await readBlob(src);
      } catch (err) {
        return { ...base, status: 'error', reason: errorText(err) };
      }
    }
    const result = await checkImage(
      h,
      { ...place, pageUrl: tab.url ?? url, priority: 'viewport' },
      { src: dataOrUrl, alt: '', context: '' },
      codec,
    );
    if (result.status === 'flagged') return { ...base, status: 'flagged', ...pick(result.verdict) };
    if (result.status === 'safe') return base;
    return { ...base, status: result.status === 'skipped' ? 'refused' : 'error', reason: result.reason };
  }
  const text = info.selectionText ?? '';
  if (!text.trim()) return { ...base, status: 'error', reason: 'No text is selected.' };
  try {
    const verdict = await h.engine.check({ kind: 'text', priority: 'viewport', text, ...place });
    if (verdict.safe) return base;
    const resolved = resolveAction(h.state.settings, verdict.categories, categoryMessage);
    // A check the person asked for names every category found, even those they chose to ignore on pages.
    const all = resolveAction(
      { ...h.state.settings, categoryActions: {} },
      verdict.categories,
      categoryMessage,
    );
    return {
      ...base,
      status: 'flagged',
      categories: all.categories,
      names: all.names,
      action: resolved.action,
    };
  } catch (err) {
    return { ...base, status: 'error', reason: errorText(err) };
  }
}

function pick(verdict: { categories: string[]; names: string[]; action: ManualCheck['action'] }) {
  return { categories: verdict.categories, names: verdict.names, action: verdict.action };
}

async function show(tabId: number, frameId: number, check: ManualCheck): Promise<void> {
  await browser.storage.session.set({ [manualCheckKey(tabId)]: check });
  await sendMessage('page:check-result', check, { tabId, frameId }).catch(() => undefined);
}

export function registerContextMenu({ host }: BackgroundContext): void {
  const api = browser.contextMenus;
  void createMenus().catch(() => undefined);
  api.onClicked.addListener((info, tab) => {
    if (tab?.id === undefined || tab.id < 0) return;
    const tabId = tab.id;
    if (info.menuItemId === MENU_SCAN_PAGE) {
      void scanTab(tabId);
      return;
    }
    if (info.menuItemId !== MENU_CHECK_SELECTION && info.menuItemId !== MENU_CHECK_IMAGE) return;
    const frameId = info.frameId ?? 0;
    void (async () => {
      const h = await host();
      const readBlob = async (src: string) => {
        const answer = await sendMessage('page:read-image', { src }, { tabId, frameId });
        if (!answer || 'error' in answer) throw new Error(answer?.error ?? 'The image could not be read.');
        return answer.dataUrl;
      };
      const check = await runMenuCheck(h, info, tab, readBlob);
      await show(tabId, frameId, check);
    })().catch(() => undefined);
  });
  browser.tabs.onRemoved.addListener((tabId) => {
    void browser.storage.session.remove(manualCheckKey(tabId));
  });
  browser.tabs.onUpdated.addListener((tabId, change) => {
    if (change.status === 'loading') void browser.storage.session.remove(manualCheckKey(tabId));
  });
}
