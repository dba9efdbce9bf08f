/**
 * Context menu: "Check selected text with Guardlens", "Check this image with Guardlens" and "Scan this page
 * with Guardlens". A check's result is shown on the page (`page:check-result`, a toast; a flagged image is also
 * blurred) and kept for the popup in `storage.session` under `manualCheckKey(tabId)` until the tab closes or
 * loads another page. Nothing is sent from an excluded or paused site.
 */
import type { Browser } from 'wxt/browser';
import { EngineError } from '@/lib/engine/types';
import { GuardError } from '@/lib/guard/errors';
import { resolveAction } from '@/lib/settings/actions';
import { errorMessage, lookupMessage, templateMessage } from '@/utils/i18n';
import { type ManualCheck, sendMessage } from '@/utils/messages';
import { manualCheckKey } from '@/utils/protocol/page';
import type { BackgroundContext } from './context';
import type { EngineHost } from './host';
import { checkImage, type ImageCodec, imageSupport } from './images';
import { inactiveReason, scanTab } from './page-handlers';

export const MENU_CHECK_SELECTION = 'guardlens-check-selection';
export const MENU_CHECK_IMAGE = 'guardlens-check-image';
export const MENU_SCAN_PAGE = 'guardlens-scan-page';

const SNIPPET_CHARS = 140;

/** What a manual check says when it cannot run, in English by message key; people read the messages file's. */
export const CHECK_TEXTS = Object.freeze({
  check_refused_excluded: 'This site is excluded in Guardlens’ settings.',
  check_refused_paused: 'Guardlens is paused on this site.',
  check_refused_incognito: 'Guardlens is not allowed in private windows.',
  check_refused_not_configured: 'Guardlens has no endpoint set up yet: open its options.',
  check_refused_disabled: 'Guardlens cannot check this page.',
  check_error_no_image: 'The image has no address.',
  check_error_image_unreadable: 'The image could not be read.',
  check_error_no_text: 'No text is selected.',
} as const);

type CheckTextKey = keyof typeof CHECK_TEXTS;

const REFUSED: Record<string, CheckTextKey> = {
  excluded: 'check_refused_excluded',
  paused: 'check_refused_paused',
  incognito: 'check_refused_incognito',
  'not-configured': 'check_refused_not_configured',
  disabled: 'check_refused_disabled',
};

/** A text from `CHECK_TEXTS` in the messages file's words. */
function say(key: CheckTextKey): string {
  return templateMessage(CHECK_TEXTS, key);
}

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

/** Why a check failed, in words a person reads (an endpoint error from the messages file). */
function errorText(err: unknown): string {
  if (err instanceof GuardError || err instanceof EngineError) return errorMessage(err);
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
  if (reason) {
    const key = REFUSED[reason];
    return { ...base, status: 'refused', reason: key ? say(key) : reason };
  }
  const place = { tabId: tab.id!, frameId: info.frameId ?? 0, url, ref: `menu${nextRef++}` };
  if (image) {
    const unsupported = imageSupport(h.state.settings);
    if (unsupported) return { ...base, status: 'refused', reason: unsupported };
    if (!src) return { ...base, status: 'error', reason: say('check_error_no_image') };
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
  if (!text.trim()) return { ...base, status: 'error', reason: say('check_error_no_text') };
  try {
    const verdict = await h.engine.check({ kind: 'text', priority: 'viewport', text, ...place });
    if (verdict.safe) return base;
    const resolved = resolveAction(h.state.settings, verdict.categories, lookupMessage);
    // A check the person asked for names every category found, even those they chose to ignore on pages.
    const all = resolveAction(
      { ...h.state.settings, categoryActions: {} },
      verdict.categories,
      lookupMessage,
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
        if (!answer || 'error' in answer)
          throw new Error(answer?.error ?? say('check_error_image_unreadable'));
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
