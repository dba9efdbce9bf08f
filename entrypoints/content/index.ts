/**
 * The page content script, in every frame. It asks the background whether this page is scanned
 * (`page:hello`); on an excluded or paused site, without an endpoint, or in a private window it does nothing
 * more. Otherwise it scans the page (`scan.ts`) — at once, or with "scan only on demand" when asked
 * (`page:rescan`) — and enforces the verdicts it gets back (`page:verdicts`).
 *
 * It starts at `document_start` only so that "hide images until checked" can hide images before they show;
 * the scan itself starts once the document is parsed.
 */
import { extensionLifetime, type Lifetime } from '@/utils/lifetime';
import { type ManualCheck, onMessage, type PageConfig, sendMessage } from '@/utils/messages';
import { ensureStyle, removeStyles, setHideImages } from './enforce';
import { t, usePageStrings } from './i18n';
import { LabelLayer } from './labels';
import { imageErrors, readAsDataUrl } from './media';
import { answerReveal } from './reveal';
import { MIN_FRAME_SIDE, PageSession } from './scan';
import { measure, stats } from './slices';

/** Background answers can take as long as the endpoint: an image check waits for its verdict. */
async function hello(): Promise<PageConfig | undefined> {
  try {
    return await measure(() => sendMessage('page:hello', { url: location.href }), 'hello');
  } catch {
    return undefined; // the background is not reachable (extension reloading): do nothing
  }
}

function showCheckResult(labels: LabelLayer, session: PageSession | null, check: ManualCheck): void {
  if (check.status === 'flagged') {
    labels.toast(t('page_checkFlagged', check.names.join(', ')), 'flagged');
    if (check.kind === 'image' && check.src && check.action && session) {
      for (const img of document.querySelectorAll('img')) {
        if (img.currentSrc === check.src || img.src === check.src)
          session.flag(img, { categories: check.categories, names: check.names, action: check.action });
      }
    }
  } else if (check.status === 'safe') labels.toast(t('page_checkSafe'));
  else labels.toast(t('page_checkFailed', check.reason ?? ''));
}

function tinyFrame(): boolean {
  return window !== window.top && (window.innerWidth < MIN_FRAME_SIDE || window.innerHeight < MIN_FRAME_SIDE);
}

/** Resolves once a tiny frame has grown (an ad slot filled later); never, if it stays tiny. */
function grown(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onResize = () => {
      if (tinyFrame()) return;
      window.removeEventListener('resize', onResize);
      resolve();
    };
    window.addEventListener('resize', onResize, { passive: true, signal });
  });
}

/**
 * Calls `fn` after the document's URL changed (pushState, replaceState, a hash change): looked at on every check
 * of the script's lifetime (once a second), and at once on `popstate` and `hashchange`. Our own comparison, not
 * WXT's location-change event: a page can dispatch that event at will, but cannot fake `location.href`.
 */
function onLocationChange(life: Lifetime, fn: () => void): void {
  const signal = life.signal;
  let last = location.href;
  const check = () => {
    if (location.href === last) return;
    last = location.href;
    fn();
  };
  life.onTick(check);
  window.addEventListener('popstate', check, { signal });
  window.addEventListener('hashchange', check, { signal });
}

/**
 * How long a document may stay unparsed before its scan starts all the same (a frame that never finishes loading,
 * a server that holds the rest of the page back): what it shows by then is checked, and the rest as it comes.
 */
const PARSE_WAIT_MS = 3000;

/**
 * Calls `fn` once the document is parsed, or after `PARSE_WAIT_MS` when it is still loading then; `onLate` is
 * told when that happens, and `onParsed` when the document is parsed after all.
 */
function whenParsed(signal: AbortSignal, fn: () => void, late?: { onLate(): void; onParsed(): void }): void {
  if (document.readyState !== 'loading') {
    fn();
    return;
  }
  let started = false;
  const start = () => {
    if (started || signal.aborted) return;
    started = true;
    fn();
  };
  const timer = late
    ? setTimeout(() => {
        if (started || document.readyState !== 'loading' || signal.aborted) return;
        late.onLate();
        start();
      }, PARSE_WAIT_MS)
    : undefined;
  document.addEventListener(
    'DOMContentLoaded',
    () => {
      clearTimeout(timer);
      if (started) late?.onParsed();
      start();
    },
    { once: true, signal },
  );
}

export default defineContentScript({
  matches: ['<all_urls>'],
  runAt: 'document_start',
  allFrames: true,
  // Frames without a URL of their own (about:blank, srcdoc) get no script: the frame around them walks them
  // (scan.ts), which spares every empty or ad frame the cost of starting one.
  matchAboutBlank: false,
  async main() {
    // Ends only with the extension itself (utils/lifetime.ts): no page can take the blur off what was flagged.
    const life = extensionLifetime();
    // A browser error page in a frame (a blocked ad) has nothing to scan.
    if (!/^(https?|file):/i.test(document.documentURI)) return;
    // A tiny frame waits, doing nothing, until it is large enough to show something.
    if (tinyFrame()) await grown(life.signal);
    if (life.ended) return;
    const labels = new LabelLayer();
    let session: PageSession | null = null;
    let config: PageConfig | undefined;

    const listeners = [
      // With the last image failures (diagnostics: a missing host permission says so there).
      onMessage('page:stats', () => Object.assign({ ...stats }, { imageErrors: [...imageErrors] })),
      answerReveal((ref) => session?.elementOf(ref)),
      onMessage('page:check-result', ({ data }) => {
        measure(() => showCheckResult(labels, session, data), 'check-result');
      }),
      onMessage('page:read-image', async ({ data }) => {
        try {
          return { dataUrl: await readAsDataUrl(data.src) };
        } catch (err) {
          return { error: err instanceof Error ? err.message : String(err) };
        }
      }),
      onMessage('page:rescan', () => {
        if (!config) return { started: false, reason: 'disabled' as const };
        if (!config.active || !session) return { started: false, reason: config.reason ?? 'disabled' };
        const s = session;
        whenParsed(life.signal, () => measure(() => s.start(), 'start'));
        return { started: true };
      }),
      onMessage('page:verdicts', ({ data }) => {
        measure(() => session?.applyVerdicts(data.verdicts), 'verdicts');
      }),
    ];

    config = await hello();
    usePageStrings(config?.strings);
    // On an excluded or paused site this is all: the listeners answer the popup, and nothing else runs (no timer).
    if (!config?.active || life.ended) return;
    life.onEnd(() => {
      for (const remove of listeners) remove();
      session?.stop();
      labels.dispose();
      removeStyles();
    });
    const active = config;
    if (active.scanImages && active.hideImagesUntilChecked) {
      setHideImages(true);
      if (document.documentElement) ensureStyle(document);
      else whenParsed(life.signal, () => ensureStyle(document));
    }
    session = new PageSession(
      active,
      {
        sendBlocks: (url, blocks, unchecked) =>
          sendMessage('page:blocks', unchecked === undefined ? { url, blocks } : { url, blocks, unchecked }),
        checkImage: (url, image) => sendMessage('page:image', { url, image }),
        notChecked: (url, reason) => sendMessage('page:not-checked', { url, reason }),
      },
      labels,
    );
    const s = session;
    // A new URL in the same document (a single-page app) starts a fresh page state once it has rendered.
    onLocationChange(life, () => {
      setTimeout(() => !life.ended && measure(() => s.started && s.fresh(), 'navigation'), 300);
    });
    if (!active.onDemand) {
      // A document that does not finish loading is scanned as it arrives, and the popup says it is still loading.
      const tell = (reason: 'loading' | null) =>
        void sendMessage('page:not-checked', { url: location.href, reason }).catch(() => undefined);
      whenParsed(life.signal, () => measure(() => s.start(), 'start'), {
        onLate: () => tell('loading'),
        onParsed: () => tell(null),
      });
    }
  },
});
