/**
 * One traced page load in either browser, and what is read from the page afterwards.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { CDPSession, Page } from 'playwright-core';
import { REPO_ROOT } from '../test/e2e/harness';
import type { TraceAnalysis } from './trace';

export const CORPUS_DIR = path.resolve(REPO_ROOT, process.env.GUARDLENS_CORPUS ?? '../shared/corpus/pages');

export interface CorpusPage {
  name: string;
  /** `source.html` size in bytes. */
  bytes: number;
}

export function listCorpus(dir = CORPUS_DIR): CorpusPage[] {
  return readdirSync(dir)
    .filter((name) => {
      try {
        return statSync(path.join(dir, name, 'source.html')).isFile();
      } catch {
        return false;
      }
    })
    .sort()
    .map((name) => ({ name, bytes: statSync(path.join(dir, name, 'source.html')).size }));
}

export interface SettleOptions {
  /** Wait at least this long after the load event. */
  minMs: number;
  /** Then until the page's main thread has been (nearly) idle this long. */
  quietMs: number;
  /** Give up waiting after this long. */
  maxMs: number;
  /** Quiet: the main thread was busy less than this share of the window (pages with timers never go idle). */
  busyShare: number;
  /** Also wait until this returns 0 (requests to the model still under way). */
  inFlight?: () => number;
  /** Also wait until this resolves true (asked at most every 200 ms). */
  done?: () => Promise<boolean>;
}

async function taskSeconds(cdp: CDPSession): Promise<number> {
  const { metrics } = (await cdp.send('Performance.getMetrics')) as {
    metrics: { name: string; value: number }[];
  };
  return metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0;
}

/** Waits until the page and the extension are done with it; returns how long that took after load. */
export async function settle(cdp: CDPSession, options: SettleOptions): Promise<number> {
  const start = Date.now();
  const history: Array<{ at: number; busy: number }> = [];
  let done = !options.done;
  let askedAt = 0;
  for (;;) {
    const now = Date.now();
    history.push({ at: now, busy: await taskSeconds(cdp) });
    const elapsed = now - start;
    if (elapsed >= options.maxMs) return elapsed;
    if (!done && options.done && now - askedAt >= 200) {
      askedAt = now;
      done = await options.done().catch(() => false);
    }
    if (done && elapsed >= options.minMs && (options.inFlight?.() ?? 0) === 0) {
      const past = history.find((h) => h.at >= now - options.quietMs - 20);
      const last = history[history.length - 1]!;
      const window = last.at - (past?.at ?? last.at);
      if (
        past &&
        window >= options.quietMs - 20 &&
        (last.busy - past.busy) * 1000 < window * options.busyShare
      ) {
        return elapsed;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface LoadSample {
  /** Navigation start → load event start, from the page's navigation timing. */
  loadMs?: number;
  /** Navigation start → first contentful paint. */
  fcpMs?: number;
  /** Navigation start → DOMContentLoaded end. */
  dclMs?: number;
  /** `performance.timeOrigin` of the document (epoch ms). */
  timeOrigin: number;
  /** Epoch ms when the navigation was asked for. */
  requestedAt: number;
  settleMs: number;
  /** Filled in once the page's trace is read. */
  trace?: TraceAnalysis;
  /** `Runtime.getHeapUsage().usedSize` after a full garbage collection, when asked for. */
  heapUsedBytes?: number;
}

const NAV_TIMINGS = `(() => {
  const n = performance.getEntriesByType('navigation')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return {
    loadMs: n && n.loadEventStart > 0 ? n.loadEventStart : undefined,
    dclMs: n && n.domContentLoadedEventEnd > 0 ? n.domContentLoadedEventEnd : undefined,
    fcpMs: fcp ? fcp.startTime : undefined,
    timeOrigin: performance.timeOrigin,
  };
})()`;

/** Loads `url` in `page` (a reload when `reload`), waits until it settled, and reads its timings. */
export async function loadAndSettle(
  page: Page,
  cdp: CDPSession,
  options: { url: string; reload: boolean; settle: SettleOptions },
): Promise<LoadSample> {
  const requestedAt = Date.now();
  if (options.reload) await page.reload({ waitUntil: 'load', timeout: 60_000 });
  else await page.goto(options.url, { waitUntil: 'load', timeout: 60_000 });
  const settleMs = await settle(cdp, options.settle);
  const timings = (await page.evaluate(NAV_TIMINGS)) as Pick<
    LoadSample,
    'loadMs' | 'dclMs' | 'fcpMs' | 'timeOrigin'
  >;
  return { ...timings, requestedAt, settleMs };
}

/** The isolate's used JS heap after a full garbage collection. */
export async function heapAfterGc(cdp: CDPSession): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  const heap = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
  return heap.usedSize;
}

/** Times one `document.body.innerText` read in the page and returns it with the text. */
export async function timeInnerText(page: Page): Promise<{ ms: number; text: string }> {
  return (await page.evaluate(`(() => {
    const t0 = performance.now();
    const text = document.body ? document.body.innerText : '';
    return { ms: performance.now() - t0, text };
  })()`)) as { ms: number; text: string };
}

/**
 * One walk of every node under `document.body` with a `TreeWalker`, touching each node's type and nothing else:
 * the least any script that reads a page node by node does, timed like `timeInnerText`.
 */
export async function timeNodeWalk(page: Page): Promise<number> {
  return (await page.evaluate(`(() => {
    const t0 = performance.now();
    let sum = 0;
    if (document.body) {
      const walker = document.createTreeWalker(document.body);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) sum += node.nodeType;
    }
    const ms = performance.now() - t0;
    return sum >= 0 ? ms : -1;
  })()`)) as number;
}

/**
 * A short phrase that is visible in the viewport right after load and occurs once in the page's text: the
 * test server is told to flag it, so the time until Guardlens marks its element is the time to the first
 * verdict on what the person sees. `undefined` when the viewport has no suitable text.
 */
export async function viewportPhrase(page: Page): Promise<string | undefined> {
  return (await page.evaluate(`(() => {
    const skip = 'script,style,noscript,template,textarea,select,option,button,svg,[contenteditable],[data-guardlens-ui]';
    const all = (document.body ? document.body.innerText : '').toLowerCase();
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      const text = (node.nodeValue || '').replace(/\\s+/g, ' ').trim();
      if (!el || text.length < 30 || el.closest(skip)) continue;
      const r = el.getBoundingClientRect();
      if (r.bottom <= 0 || r.top >= innerHeight || r.right <= 0 || r.left >= innerWidth || r.width === 0) continue;
      if (el.checkVisibility && !el.checkVisibility({ visibilityProperty: true })) continue;
      const words = text.split(' ').filter((w) => /^[\\p{L}\\p{N}][\\p{L}\\p{N}'’.,-]*$/u.test(w));
      for (let i = 0; i + 4 <= words.length; i++) {
        const phrase = words.slice(i, i + 4).join(' ');
        if (phrase.length < 16 || !text.includes(phrase)) continue;
        const low = phrase.toLowerCase();
        if (all.indexOf(low) !== -1 && all.indexOf(low) === all.lastIndexOf(low)) return phrase;
      }
    }
    return undefined;
  })()`)) as string | undefined;
}
