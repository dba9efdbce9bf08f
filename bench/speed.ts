/**
 * Two passes for the scheduling of page text (`lib/engine/scheduler.ts`, strategy `parallel` vs `halving`):
 *
 * - `runViewportPass`: on a page with nothing flagged, the time from DOMContentLoaded until everything the first
 *   viewport shows has been judged — how long "hide until judged" would keep a safe page hidden. Right after
 *   load the page's visible text in the initial viewport is read (each visible text node intersecting the
 *   viewport, whitespace-normalised; form controls left out, Guardlens never reads them); each text is judged
 *   when the first request whose text contains it is answered. Texts no request carried are counted, not
 *   dropped.
 * - `runHalvingTokens`: every corpus page loaded once more with an empty cache under the old strategy
 *   (`engineTuning.strategy = 'halving'`), for its tokens and requests beside the new strategy's.
 */
import type { GuardlensBrowser, StaticServer } from '../test/e2e/harness';
import { DEFAULT_RULES, type GuardServer } from '../test/server/guard-server';
import { freshCache } from './page-pass';
import { isModelRequest, promptTokensOf } from './tokens';

export interface ViewportRun {
  name: string;
  latencyMs: number;
  /** DOMContentLoaded end → the answer that judged the last of the viewport's texts. */
  judgedMs?: number;
  /** Texts the first viewport showed, and how many of them no request carried. */
  texts: number;
  unsent: number;
  /** Up to three of the texts never sent, for the report. */
  unsentSamples: string[];
  requests: number;
  error?: string;
}

/** Reads, in the page, the visible texts of the initial viewport. */
const VIEWPORT_TEXTS = `(() => {
  const out = [];
  const vw = innerWidth, vh = innerHeight;
  const skip = 'SCRIPT,STYLE,NOSCRIPT,TEXTAREA,INPUT,SELECT,OPTION,BUTTON,TEMPLATE';
  const walker = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = (node.nodeValue || '').replace(/\\s+/g, ' ').trim();
    if (text.length < 2) continue;
    const parent = node.parentElement;
    if (!parent || parent.closest(skip) || parent.closest('[contenteditable=""],[contenteditable="true"]')) continue;
    if (parent.checkVisibility && !parent.checkVisibility({ visibilityProperty: true, opacityProperty: true })) continue;
    range.selectNodeContents(node);
    const inView = [...range.getClientRects()].some(
      (r) => r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < vh && r.left < vw,
    );
    if (inView) out.push(text);
  }
  const n = performance.getEntriesByType('navigation')[0];
  return { texts: out, dcl: performance.timeOrigin + (n ? n.domContentLoadedEventEnd : 0) };
})()`;

const norm = (s: string) => s.replace(/\s+/g, ' ').trim().toLowerCase();

export interface SpeedPassOptions {
  gl: GuardlensBrowser;
  guard: GuardServer;
  site: StaticServer;
  settings: Record<string, unknown>;
  apiKey: string;
  log: (line: string) => void;
}

export async function runViewportPass(
  o: SpeedPassOptions & { pages: string[]; latencyMs: number },
): Promise<ViewportRun[]> {
  const ctx = o.gl.chromium!.context;
  const runs: ViewportRun[] = [];
  o.guard.setRules(DEFAULT_RULES);
  o.guard.setLatency(o.latencyMs);
  try {
    for (const name of o.pages) {
      const run: ViewportRun = {
        name,
        latencyMs: o.latencyMs,
        texts: 0,
        unsent: 0,
        unsentSamples: [],
        requests: 0,
      };
      runs.push(run);
      await freshCache(o.gl, { ...o.settings, model: `bench-viewport-${o.latencyMs}-${name}` }, o.apiKey);
      const page = await ctx.newPage();
      try {
        const from = o.guard.requests.length;
        await page.goto(o.site.url(`/corpus/${name}/source.html`), { waitUntil: 'load', timeout: 60_000 });
        const read = (await page.evaluate(VIEWPORT_TEXTS)) as { texts: string[]; dcl: number };
        const texts = [...new Set(read.texts.map(norm))];
        run.texts = texts.length;
        // Until every text has an answer, or nothing more is asked for a while.
        const deadline = Date.now() + 8 * o.latencyMs + 6000;
        let judged = new Map<string, number>();
        for (;;) {
          const answered = o.guard.requests
            .slice(from)
            .filter((r) => isModelRequest(r) && r.answeredAt !== undefined)
            .sort((a, b) => a.answeredAt! - b.answeredAt!);
          judged = new Map();
          for (const r of answered) {
            const body = norm(r.text ?? '');
            for (const t of texts) if (!judged.has(t) && body.includes(t)) judged.set(t, r.answeredAt!);
          }
          const busy = o.guard.requests
            .slice(from)
            .some((r) => isModelRequest(r) && r.answeredAt === undefined);
          const last = Math.max(0, ...o.guard.requests.slice(from).map((r) => r.answeredAt ?? r.receivedAt));
          if (judged.size === texts.length && !busy) break;
          if (Date.now() > deadline || (!busy && Date.now() - last > 2000 && last > 0)) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const list = o.guard.requests.slice(from).filter(isModelRequest);
        run.requests = list.length;
        if (list.some((r) => (r.categories?.length ?? 0) > 0))
          run.error = 'something on the page was flagged';
        const unsent = texts.filter((t) => !judged.has(t));
        run.unsent = unsent.length;
        run.unsentSamples = unsent.slice(0, 3).map((t) => (t.length > 60 ? `${t.slice(0, 59)}…` : t));
        if (judged.size > 0) run.judgedMs = Math.max(...judged.values()) - read.dcl;
      } catch (error) {
        run.error = error instanceof Error ? error.message.split('\n')[0] : String(error);
      } finally {
        await page.close().catch(() => {});
      }
      o.log(
        `  ${name}: ${run.judgedMs !== undefined ? `${run.judgedMs.toFixed(0)} ms` : '–'}, ${run.texts} texts` +
          `${run.unsent ? `, ${run.unsent} never sent (${run.unsentSamples.map((s) => JSON.stringify(s)).join(', ')})` : ''}` +
          `${run.error ? ` (${run.error})` : ''}`,
      );
    }
  } finally {
    o.guard.setLatency(0);
  }
  return runs;
}

export interface HalvingRun {
  name: string;
  tokens: number;
  requests: number;
  error?: string;
}

/** Waits until the endpoint has had nothing new to answer for `quietMs`. */
async function endpointQuiet(
  guard: GuardServer,
  from: number,
  quietMs: number,
  maxMs: number,
): Promise<void> {
  const started = Date.now();
  for (;;) {
    const list = guard.requests.slice(from).filter(isModelRequest);
    const busy = list.some((r) => r.answeredAt === undefined);
    const last = Math.max(started, ...list.map((r) => r.answeredAt ?? r.receivedAt));
    if (!busy && Date.now() - last >= quietMs && Date.now() - started >= 500) return;
    if (Date.now() - started > maxMs) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function runHalvingTokens(o: SpeedPassOptions & { pages: string[] }): Promise<HalvingRun[]> {
  const ctx = o.gl.chromium!.context;
  const runs: HalvingRun[] = [];
  const setTuning = (value: unknown) =>
    o.gl.extensionEval(
      (items: Record<string, unknown>) =>
        items.value === null
          ? browser.storage.local.remove('engineTuning')
          : browser.storage.local.set({ engineTuning: items.value }),
      { value },
    );
  await setTuning({ strategy: 'halving' });
  try {
    for (const name of o.pages) {
      const run: HalvingRun = { name, tokens: 0, requests: 0 };
      runs.push(run);
      await freshCache(o.gl, { ...o.settings, model: `bench-halving-${name}` }, o.apiKey);
      const page = await ctx.newPage();
      try {
        const from = o.guard.requests.length;
        await page.goto(o.site.url(`/corpus/${name}/source.html`), { waitUntil: 'load', timeout: 60_000 });
        await endpointQuiet(o.guard, from, 750, 15_000);
        const list = o.guard.requests.slice(from).filter(isModelRequest);
        run.requests = list.length;
        for (const r of list) if (r.status === 200) run.tokens += await promptTokensOf(r);
      } catch (error) {
        run.error = error instanceof Error ? error.message.split('\n')[0] : String(error);
      } finally {
        await page.close().catch(() => {});
      }
    }
  } finally {
    await setTuning(null);
  }
  o.log(
    `  ${runs.length} pages: ${runs.reduce((a, r) => a + r.tokens, 0)} tokens in ${runs.reduce((a, r) => a + r.requests, 0)} requests`,
  );
  return runs;
}
