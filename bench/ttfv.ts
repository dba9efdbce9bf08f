/**
 * Time to the first verdict on what the person sees. The test server answers in a fixed time and is told to
 * flag one phrase that is visible in the viewport right after load (and occurs nowhere else in the page); a
 * MutationObserver in the page notes when Guardlens marks an element `data-guardlens="flagged"`. The requests
 * that carried the phrase (the first chunk, then each bisection step) are the endpoint's share; what is left,
 * after the page's own parsing (navigation start → DOMContentLoaded), is Guardlens' own share. The target is set
 * on DOMContentLoaded → the mark (`dclToFlagMs`): 2 round trips + 100 ms, one for the chunk that holds the phrase
 * and one for the phrase's block checked alone. `run.ts` runs this pass at each `--ttfv-latency`.
 */
import type { GuardlensBrowser, StaticServer } from '../test/e2e/harness';
import { DEFAULT_RULES, type GuardServer } from '../test/server/guard-server';
import { freshCache } from './page-pass';
import { isModelRequest } from './tokens';

export interface TtfvRun {
  name: string;
  phrase: string;
  /** The endpoint's latency in this pass. */
  latencyMs?: number;
  /** DOMContentLoaded end → the flagged mark: the figure the target is set on (the page's own parse left out). */
  dclToFlagMs?: number;
  /** Navigation start → the flagged mark in the page. */
  ttfvMs?: number;
  /** Navigation start → DOMContentLoaded end (the page's own part). */
  dclMs?: number;
  /** Navigation start → the first request carrying the phrase reached the endpoint. */
  firstRequestMs?: number;
  /** Requests on the way to the verdict (first chunk and bisection steps) and the endpoint's time for them. */
  chainRequests: number;
  endpointMs: number;
  /** ttfv − endpoint − DOMContentLoaded: Guardlens' own share. */
  ownMs?: number;
  error?: string;
}

const OBSERVER = `(() => {
  const mark = () => {
    if (window.__guardlensBenchFlaggedAt === undefined) window.__guardlensBenchFlaggedAt = performance.now();
  };
  const flagged = (el) =>
    el && el.getAttribute && (el.getAttribute('data-guardlens') === 'flagged' || el.hasAttribute('data-guardlens-categories'));
  const observer = new MutationObserver((records) => {
    for (const r of records) {
      if (flagged(r.target)) {
        mark();
        observer.disconnect();
        return;
      }
    }
  });
  observer.observe(document, {
    subtree: true,
    attributes: true,
    attributeFilter: ['data-guardlens', 'data-guardlens-categories'],
  });
})();`;

export interface TtfvOptions {
  gl: GuardlensBrowser;
  guard: GuardServer;
  site: StaticServer;
  pages: Array<{ name: string; phrase: string }>;
  latencyMs: number;
  settings: Record<string, unknown>;
  apiKey: string;
  timeoutMs?: number;
  log: (line: string) => void;
}

/** Time covered by at least one of the intervals. */
function busyTime(intervals: ReadonlyArray<readonly [number, number]>): number {
  let total = 0;
  let until = -Infinity;
  for (const [from, to] of [...intervals].sort((a, b) => a[0] - b[0])) {
    if (to <= until) continue;
    total += to - Math.max(from, until);
    until = to;
  }
  return total;
}

export async function runTtfvPass(o: TtfvOptions): Promise<TtfvRun[]> {
  const ctx = o.gl.chromium!.context;
  const runs: TtfvRun[] = [];
  o.guard.setLatency(o.latencyMs);
  try {
    for (const { name, phrase } of o.pages) {
      const run: TtfvRun = { name, phrase, latencyMs: o.latencyMs, chainRequests: 0, endpointMs: 0 };
      runs.push(run);
      o.guard.setRules([...DEFAULT_RULES, { phrase, categories: ['S1'] }]);
      await freshCache(o.gl, { ...o.settings, model: `bench-ttfv-${o.latencyMs}-${name}` }, o.apiKey);
      const page = await ctx.newPage();
      try {
        await page.addInitScript(OBSERVER);
        const from = o.guard.requests.length;
        await page.goto(o.site.url(`/corpus/${name}/source.html`), { waitUntil: 'load', timeout: 60_000 });
        await page
          .waitForFunction('window.__guardlensBenchFlaggedAt !== undefined', undefined, {
            timeout: o.timeoutMs ?? 20_000,
            polling: 50,
          })
          .catch(() => {
            run.error = 'no element was marked flagged in time';
          });
        const read = (await page.evaluate(`(() => {
          const n = performance.getEntriesByType('navigation')[0];
          return {
            flaggedAt: window.__guardlensBenchFlaggedAt,
            dclMs: n && n.domContentLoadedEventEnd > 0 ? n.domContentLoadedEventEnd : undefined,
            timeOrigin: performance.timeOrigin,
          };
        })()`)) as { flaggedAt?: number; dclMs?: number; timeOrigin: number };
        run.dclMs = read.dclMs;
        const low = phrase.toLowerCase();
        const chain = o.guard.requests
          .slice(from)
          .filter((r) => isModelRequest(r) && (r.text ?? '').toLowerCase().includes(low));
        if (chain[0]) run.firstRequestMs = chain[0].receivedAt - read.timeOrigin;
        if (read.flaggedAt !== undefined) {
          run.ttfvMs = read.flaggedAt;
          const flaggedEpoch = read.timeOrigin + read.flaggedAt;
          const before = chain.filter((r) => r.answeredAt !== undefined && r.answeredAt <= flaggedEpoch + 1);
          run.chainRequests = before.length;
          run.endpointMs = busyTime(before.map((r) => [r.receivedAt, r.answeredAt!] as const));
          if (run.dclMs !== undefined) {
            run.ownMs = run.ttfvMs - run.endpointMs - run.dclMs;
            run.dclToFlagMs = run.ttfvMs - run.dclMs;
          }
        } else {
          run.chainRequests = chain.length;
        }
      } catch (error) {
        run.error = error instanceof Error ? error.message.split('\n')[0] : String(error);
      } finally {
        await page.close().catch(() => {});
      }
      o.log(
        `  ${name}: ${run.ttfvMs !== undefined ? `${run.ttfvMs.toFixed(0)} ms, ${run.chainRequests} requests` : run.error}`,
      );
    }
  } finally {
    o.guard.setRules(DEFAULT_RULES);
    o.guard.setLatency(0);
  }
  return runs;
}
