/** Per-page figures and corpus medians from the raw runs, and the targets they are judged against. */

import type { HeavyRun } from './heavy';
import type { PageRun } from './page-pass';
import type { HalvingRun, ViewportRun } from './speed';
import { max, median, min, ratio, sum } from './stats';
import type { ThroughputRun } from './throughput';
import type { TtfvRun } from './ttfv';

export interface PageFigures {
  name: string;
  kb: number;
  error?: string;
  /** Medians over the loads with Guardlens, unless said otherwise. */
  extensionMs?: number;
  extensionStyleLayoutMs?: number;
  extensionTasks?: number;
  /** Largest extension part of one task: median over loads, and the worst load. */
  extensionLongestMs?: number;
  extensionLongestWorstMs?: number;
  /** Thread (CPU) time counterparts. */
  extensionCpuMs?: number;
  extensionLongestCpuMs?: number;
  longestTaskWithExtensionMs?: number;
  mainThreadWithMs?: number;
  mainThreadWithoutMs?: number;
  serviceWorkerMs?: number;
  innerTextMs?: number;
  /** extension time / one innerText read. */
  extensionPerInnerText?: number;
  /** One walk of every node (`TreeWalker`) in the baseline page. */
  nodeWalkMs?: number;
  /** The floor extension's time (`floor.ts`): wall and thread, medians over its loads. */
  floorMs?: number;
  floorCpuMs?: number;
  floorLoadMs?: number;
  floorFcpMs?: number;
  loadWithMs?: number;
  loadWithoutMs?: number;
  fcpWithMs?: number;
  fcpWithoutMs?: number;
  heapWithBytes?: number;
  heapWithoutBytes?: number;
  /** First load (empty cache). */
  requests?: number;
  tokensSent?: number;
  visibleTokens?: number;
  naiveTokens?: number;
  paragraphs?: number;
  /** Model requests of every later load (reloads), summed. */
  reloadRequests?: number;
  failedRequests?: number;
  /** What the reloads' requests classified (their start). */
  reloadTexts?: string[];
  /** First load: DOMContentLoaded → the first model request (ms). */
  firstRequestMs?: number;
  /** First load: share of the words the page shows that were sent, and the word count. */
  coverage?: number;
  shownWords?: number;
}

export function pageFigures(run: PageRun): PageFigures {
  const ext = run.ext.map((s) => s.trace).filter((t) => t !== undefined);
  const base = run.base.map((s) => s.trace).filter((t) => t !== undefined);
  const f: PageFigures = { name: run.name, kb: run.bytes / 1024 };
  if (run.error) f.error = run.error;
  if (ext.length) {
    f.extensionMs = median(ext.map((t) => t.extensionMs));
    f.extensionStyleLayoutMs = median(ext.map((t) => t.extensionStyleLayoutMs));
    f.extensionTasks = median(ext.map((t) => t.extensionTasks));
    f.extensionLongestMs = median(ext.map((t) => t.extensionLongestMs));
    f.extensionLongestWorstMs = max(ext.map((t) => t.extensionLongestMs));
    f.extensionCpuMs = median(ext.map((t) => t.extensionCpuMs));
    f.extensionLongestCpuMs = median(ext.map((t) => t.extensionLongestCpuMs));
    f.longestTaskWithExtensionMs = median(ext.map((t) => t.longestTaskWithExtensionMs));
    f.mainThreadWithMs = median(ext.map((t) => t.mainThreadMs));
    f.serviceWorkerMs = median(ext.map((t) => t.serviceWorkerMs));
  }
  if (base.length) f.mainThreadWithoutMs = median(base.map((t) => t.mainThreadMs));
  // Runs written before the floor was measured have no `floor` (nor `nodeWalkMs`).
  const floorLoads = run.floor ?? [];
  const floor = floorLoads.map((s) => s.trace).filter((t) => t !== undefined);
  if (floor.length) {
    f.floorMs = median(floor.map((t) => t.extensionMs));
    f.floorCpuMs = median(floor.map((t) => t.extensionCpuMs));
  }
  f.floorLoadMs = median(floorLoads.map((s) => s.loadMs));
  f.floorFcpMs = median(floorLoads.map((s) => s.fcpMs));
  f.innerTextMs = median(run.innerTextMs);
  f.nodeWalkMs = median(run.nodeWalkMs ?? []);
  f.extensionPerInnerText = ratio(f.extensionMs, f.innerTextMs);
  f.loadWithMs = median(run.ext.map((s) => s.loadMs));
  f.loadWithoutMs = median(run.base.map((s) => s.loadMs));
  f.fcpWithMs = median(run.ext.map((s) => s.fcpMs));
  f.fcpWithoutMs = median(run.base.map((s) => s.fcpMs));
  f.heapWithBytes = median(run.ext.map((s) => s.heapUsedBytes));
  f.heapWithoutBytes = median(run.base.map((s) => s.heapUsedBytes));
  if (run.requests.length) {
    f.requests = run.requests[0];
    f.tokensSent = run.promptTokens[0];
    f.reloadRequests = sum(run.requests.slice(1));
  }
  f.failedRequests = run.failedRequests;
  if (run.reloadTexts?.length) f.reloadTexts = run.reloadTexts;
  if (run.firstRequestMs !== undefined) f.firstRequestMs = run.firstRequestMs;
  if (run.coverage) {
    f.coverage = run.coverage.share;
    f.shownWords = run.coverage.words;
  }
  if (run.text) {
    f.visibleTokens = run.text.visible;
    f.naiveTokens = run.text.naive;
    f.paragraphs = run.text.paragraphs;
  }
  return f;
}

export interface Target {
  id: string;
  what: string;
  target: string;
  value: string;
  met: boolean | null;
}

export interface CorpusSummary {
  pages: number;
  pagesMeasured: number;
  extensionMs?: number;
  extensionStyleLayoutMs?: number;
  innerTextMs?: number;
  extensionPerInnerText?: number;
  extensionLongestMs?: number;
  extensionCpuMs?: number;
  extensionLongestCpuMs?: number;
  nodeWalkMs?: number;
  floorMs?: number;
  floorCpuMs?: number;
  /** Per page, Guardlens' thread time minus the floor's: what Guardlens' own code costs (median page). */
  ownCpuMs?: number;
  /** Load event and first contentful paint with the floor extension vs without (median of per-page ratios). */
  floorLoadRatio?: number;
  floorFcpRatio?: number;
  /** Pages over 50 ms in thread (CPU) time. */
  pagesOver50Cpu: string[];
  /** Pages whose extension part of one task exceeds 50 ms (median of loads), and in any load. */
  pagesOver50: string[];
  pagesOver50AnyLoad: string[];
  longestTaskWithExtensionMs?: number;
  mainThreadWithMs?: number;
  mainThreadWithoutMs?: number;
  serviceWorkerMs?: number;
  loadWithMs?: number;
  loadWithoutMs?: number;
  loadRatio?: number;
  fcpWithMs?: number;
  fcpWithoutMs?: number;
  fcpRatio?: number;
  heapDeltaBytes?: number;
  heapPages: string[];
  tokensSent: number;
  visibleTokens: number;
  naiveTokens: number;
  sentPerVisible?: number;
  medianSentPerVisible?: number;
  pagesOver13: string[];
  reloadRequests: number;
  ttfvMs?: number;
  ttfvEndpointMs?: number;
  ttfvOwnMs?: number;
  ttfvFirstRequestMs?: number;
  /** DOMContentLoaded → first request: median page, the slowest page, and pages over 1 s. */
  firstRequestMs?: number;
  firstRequestMaxMs?: number;
  pagesOver1s: string[];
  /** The generated 5 MB conversation page: median over its loads. */
  heavyFirstRequestMs?: number;
  heavyBytes?: number;
  /** Coverage of what pages show: median page, the lowest page, and pages under 90%. */
  coverage?: number;
  coverageMin?: number;
  pagesUnder90: string[];
  coveragePages: number;
}

export function corpusSummary(figures: PageFigures[], ttfv: TtfvRun[], heavy?: HeavyRun): CorpusSummary {
  const ok = figures.filter((f) => f.extensionMs !== undefined);
  const both = (a: (f: PageFigures) => number | undefined, b: (f: PageFigures) => number | undefined) =>
    ok.filter((f) => a(f) !== undefined && b(f) !== undefined);
  const loadPages = both(
    (f) => f.loadWithMs,
    (f) => f.loadWithoutMs,
  );
  const fcpPages = both(
    (f) => f.fcpWithMs,
    (f) => f.fcpWithoutMs,
  );
  const heapPages = both(
    (f) => f.heapWithBytes,
    (f) => f.heapWithoutBytes,
  );
  const tokenPages = ok.filter((f) => f.tokensSent !== undefined && f.visibleTokens);
  const ttfvOk = ttfv.filter((t) => t.ttfvMs !== undefined);
  return {
    pages: figures.length,
    pagesMeasured: ok.length,
    extensionMs: median(ok.map((f) => f.extensionMs)),
    extensionStyleLayoutMs: median(ok.map((f) => f.extensionStyleLayoutMs)),
    innerTextMs: median(ok.map((f) => f.innerTextMs)),
    extensionPerInnerText: median(ok.map((f) => f.extensionPerInnerText)),
    extensionLongestMs: median(ok.map((f) => f.extensionLongestMs)),
    extensionCpuMs: median(ok.map((f) => f.extensionCpuMs)),
    extensionLongestCpuMs: median(ok.map((f) => f.extensionLongestCpuMs)),
    nodeWalkMs: median(ok.map((f) => f.nodeWalkMs)),
    floorMs: median(ok.map((f) => f.floorMs)),
    floorCpuMs: median(ok.map((f) => f.floorCpuMs)),
    ownCpuMs: median(
      ok
        .filter((f) => f.extensionCpuMs !== undefined && f.floorCpuMs !== undefined)
        .map((f) => f.extensionCpuMs! - f.floorCpuMs!),
    ),
    floorLoadRatio: median(ok.map((f) => ratio(f.floorLoadMs, f.loadWithoutMs))),
    floorFcpRatio: median(ok.map((f) => ratio(f.floorFcpMs, f.fcpWithoutMs))),
    pagesOver50Cpu: ok.filter((f) => (f.extensionLongestCpuMs ?? 0) > 50).map((f) => f.name),
    pagesOver50: ok.filter((f) => (f.extensionLongestMs ?? 0) > 50).map((f) => f.name),
    pagesOver50AnyLoad: ok.filter((f) => (f.extensionLongestWorstMs ?? 0) > 50).map((f) => f.name),
    longestTaskWithExtensionMs: median(ok.map((f) => f.longestTaskWithExtensionMs)),
    mainThreadWithMs: median(ok.map((f) => f.mainThreadWithMs)),
    mainThreadWithoutMs: median(ok.map((f) => f.mainThreadWithoutMs)),
    serviceWorkerMs: median(ok.map((f) => f.serviceWorkerMs)),
    loadWithMs: median(loadPages.map((f) => f.loadWithMs)),
    loadWithoutMs: median(loadPages.map((f) => f.loadWithoutMs)),
    loadRatio: median(loadPages.map((f) => ratio(f.loadWithMs, f.loadWithoutMs))),
    fcpWithMs: median(fcpPages.map((f) => f.fcpWithMs)),
    fcpWithoutMs: median(fcpPages.map((f) => f.fcpWithoutMs)),
    fcpRatio: median(fcpPages.map((f) => ratio(f.fcpWithMs, f.fcpWithoutMs))),
    heapDeltaBytes: median(heapPages.map((f) => f.heapWithBytes! - f.heapWithoutBytes!)),
    heapPages: heapPages.map((f) => f.name),
    tokensSent: sum(tokenPages.map((f) => f.tokensSent)),
    visibleTokens: sum(tokenPages.map((f) => f.visibleTokens)),
    naiveTokens: sum(tokenPages.map((f) => f.naiveTokens)),
    sentPerVisible: ratio(
      sum(tokenPages.map((f) => f.tokensSent)),
      sum(tokenPages.map((f) => f.visibleTokens)),
    ),
    medianSentPerVisible: median(tokenPages.map((f) => ratio(f.tokensSent, f.visibleTokens))),
    pagesOver13: tokenPages.filter((f) => f.tokensSent! > 1.3 * f.visibleTokens!).map((f) => f.name),
    reloadRequests: sum(ok.map((f) => f.reloadRequests)),
    ttfvMs: median(ttfvOk.map((t) => t.ttfvMs)),
    ttfvEndpointMs: median(ttfvOk.map((t) => t.endpointMs)),
    ttfvOwnMs: median(ttfvOk.map((t) => t.ownMs)),
    ttfvFirstRequestMs: median(ttfvOk.map((t) => t.firstRequestMs)),
    firstRequestMs: median(ok.map((f) => f.firstRequestMs)),
    firstRequestMaxMs: max(ok.map((f) => f.firstRequestMs)),
    pagesOver1s: ok.filter((f) => (f.firstRequestMs ?? 0) > 1000).map((f) => f.name),
    heavyFirstRequestMs: heavy?.medianFirstRequestMs,
    heavyBytes: heavy?.bytes,
    coverage: median(ok.map((f) => f.coverage)),
    coverageMin: min(ok.map((f) => f.coverage)),
    pagesUnder90: ok.filter((f) => f.coverage !== undefined && f.coverage < 0.9).map((f) => f.name),
    coveragePages: ok.filter((f) => f.coverage !== undefined).length,
  };
}

/** The scheduling figures, per endpoint latency, and tokens under the old strategy beside the new one. */
export interface SpeedSummary {
  latencies: Array<{
    latencyMs: number;
    /** DOMContentLoaded → the first flagged mark in the viewport (median page), its share of round trips. */
    ttfvMs?: number;
    ttfvPages: number;
    ttfvChain?: number;
    /** ttfv − endpoint − DCL (median page). */
    ownMs?: number;
    /** DOMContentLoaded → the whole first viewport judged on a page with nothing flagged (median page). */
    viewportMs?: number;
    viewportPages: number;
    /** Viewport texts no request carried, over all pages of the pass, and pages left out (something flagged). */
    viewportUnsent: number;
    viewportTexts: number;
    viewportLeftOut: string[];
  }>;
  /** Whole corpus, pages measured by both: tokens under the new strategy and under halving, and the visible text. */
  halvingPages: number;
  halvingTokens?: number;
  parallelTokens?: number;
  halvingVisibleTokens?: number;
  halvingRequests?: number;
  parallelRequests?: number;
}

export function speedSummary(
  latencies: readonly number[],
  ttfv: readonly TtfvRun[],
  viewport: readonly ViewportRun[],
  halving: readonly HalvingRun[],
  figures: readonly PageFigures[],
): SpeedSummary {
  const out: SpeedSummary = { latencies: [], halvingPages: 0 };
  for (const latencyMs of latencies) {
    const t = ttfv.filter((r) => r.latencyMs === latencyMs && r.dclToFlagMs !== undefined);
    const v = viewport.filter((r) => r.latencyMs === latencyMs);
    const usable = v.filter((r) => !r.error && r.judgedMs !== undefined);
    out.latencies.push({
      latencyMs,
      ttfvMs: median(t.map((r) => r.dclToFlagMs)),
      ttfvPages: t.length,
      ttfvChain: median(t.map((r) => r.chainRequests)),
      ownMs: median(t.map((r) => r.ownMs)),
      viewportMs: median(usable.map((r) => r.judgedMs)),
      viewportPages: usable.length,
      viewportUnsent: usable.reduce((a, r) => a + r.unsent, 0),
      viewportTexts: usable.reduce((a, r) => a + r.texts, 0),
      viewportLeftOut: v.filter((r) => r.error || r.judgedMs === undefined).map((r) => r.name),
    });
  }
  const byName = new Map(figures.map((f) => [f.name, f]));
  const both = halving.filter((h) => !h.error && byName.get(h.name)?.tokensSent !== undefined);
  if (both.length) {
    out.halvingPages = both.length;
    out.halvingTokens = both.reduce((a, h) => a + h.tokens, 0);
    out.halvingRequests = both.reduce((a, h) => a + h.requests, 0);
    out.parallelTokens = both.reduce((a, h) => a + (byName.get(h.name)?.tokensSent ?? 0), 0);
    out.parallelRequests = both.reduce((a, h) => a + (byName.get(h.name)?.requests ?? 0), 0);
    out.halvingVisibleTokens = both.reduce((a, h) => a + (byName.get(h.name)?.visibleTokens ?? 0), 0);
  }
  return out;
}

const ms = (v: number | undefined, digits = 1) => (v === undefined ? 'n/a' : `${v.toFixed(digits)} ms`);
const pct = (v: number | undefined) => (v === undefined ? 'n/a' : `${((v - 1) * 100).toFixed(1)}%`);

/** What the prompt guard's own benchmark (`bench/prompt-guard.ts`) measured, in Chromium. */
export interface PromptGuardFigures {
  /** Enter → the site's send handler, minus the endpoint's time and the page's own send time: median, p95. */
  medianMs?: number;
  p95Ms?: number;
  samples?: number;
  /** The whole Enter → send with a new prompt, the endpoint's part, and the page alone (guard off). */
  totalMedianMs?: number;
  endpointMedianMs?: number;
  baselineMedianMs?: number;
  /** A prompt checked before (answered from the cache): what the guard adds, median and p95. */
  cachedMedianMs?: number;
  cachedP95Ms?: number;
  /** The Chromium result as `bench/prompt-guard.ts` wrote it. */
  raw?: unknown;
  note?: string;
}

export function targets(
  s: CorpusSummary,
  promptGuard: PromptGuardFigures | undefined,
  throughput: ThroughputRun[],
  speed?: SpeedSummary,
): Target[] {
  const list: Target[] = [];
  for (const l of speed?.latencies ?? []) {
    const limit = 2 * l.latencyMs + 100;
    list.push({
      id: `ttfv-${l.latencyMs}`,
      what: `Time to first verdict in the viewport, DOMContentLoaded → the flagged mark (median page), endpoint answering in ${l.latencyMs} ms`,
      target: `≤ 2× latency + 100 ms (${limit} ms)`,
      value:
        l.ttfvMs !== undefined
          ? `${ms(l.ttfvMs, 0)} over ${l.ttfvPages} pages (${l.ttfvChain} requests on the way, median); Guardlens' own share ${ms(l.ownMs, 0)}`
          : 'n/a',
      met: l.ttfvMs !== undefined ? l.ttfvMs <= limit : null,
    });
    list.push({
      id: `ttfv-own-${l.latencyMs}`,
      what: `Time to first verdict: Guardlens' own share (less the endpoint and the page's own parse, median page), endpoint answering in ${l.latencyMs} ms`,
      target: '≤ 100 ms',
      value: ms(l.ownMs, 0),
      met: l.ownMs !== undefined ? l.ownMs <= 100 : null,
    });
    const once = l.latencyMs + 100;
    list.push({
      id: `viewport-${l.latencyMs}`,
      what: `Whole first viewport judged on a page with nothing flagged, DOMContentLoaded → its last answer (median page), endpoint answering in ${l.latencyMs} ms`,
      target: `≤ 1× latency + 100 ms (${once} ms)`,
      value:
        l.viewportMs !== undefined
          ? `${ms(l.viewportMs, 0)} over ${l.viewportPages} pages; ${l.viewportUnsent} of ${l.viewportTexts} viewport texts never sent` +
            (l.viewportLeftOut.length
              ? `; left out (something flagged or no answer): ${l.viewportLeftOut.join(', ')}`
              : '')
          : 'n/a',
      met: l.viewportMs !== undefined ? l.viewportMs <= once : null,
    });
  }
  list.push({
    id: 'page-above-floor',
    what: 'Page script: thread time above the floor extension (median page)',
    target: '≤ 4 ms',
    value:
      s.ownCpuMs !== undefined
        ? `${ms(s.ownCpuMs)} (Guardlens ${ms(s.extensionCpuMs)}, floor ${ms(s.floorCpuMs)}; wall ${ms(s.extensionMs)} vs one \`innerText\` read ${ms(s.innerTextMs, 2)})`
        : 'n/a',
    met: s.ownCpuMs !== undefined ? s.ownCpuMs <= 4 : null,
  });
  list.push({
    id: 'long-task',
    what: 'Page cost: no extension task over 50 ms on any page (median of loads per page)',
    target: '0 pages',
    value:
      `${s.pagesOver50.length} of ${s.pagesMeasured} pages${s.pagesOver50.length ? ` (${s.pagesOver50.join(', ')})` : ''}; ` +
      `in any single load: ${s.pagesOver50AnyLoad.length}; in thread time: ${s.pagesOver50Cpu.length}`,
    met: s.pagesMeasured > 0 ? s.pagesOver50.length === 0 : null,
  });
  list.push({
    id: 'load',
    what: 'Load delay: load event with vs without (median of per-page ratios)',
    target: "≤ the floor extension's delay + 1 point",
    value: `${ms(s.loadWithMs, 0)} vs ${ms(s.loadWithoutMs, 0)} (${pct(s.loadRatio)}; floor extension ${pct(s.floorLoadRatio)})`,
    met:
      s.loadRatio !== undefined && s.floorLoadRatio !== undefined
        ? s.loadRatio <= s.floorLoadRatio + 0.01
        : null,
  });
  list.push({
    id: 'fcp',
    what: 'Load delay: first contentful paint with vs without (median of per-page ratios)',
    target: "≤ the floor extension's delay + 1 point",
    value: `${ms(s.fcpWithMs, 0)} vs ${ms(s.fcpWithoutMs, 0)} (${pct(s.fcpRatio)}; floor extension ${pct(s.floorFcpRatio)})`,
    met:
      s.fcpRatio !== undefined && s.floorFcpRatio !== undefined ? s.fcpRatio <= s.floorFcpRatio + 0.01 : null,
  });
  list.push({
    id: 'tokens',
    what: 'Tokens: prompt tokens sent per page vs the visible text (whole corpus)',
    target: '≤ 1.3×',
    value:
      s.sentPerVisible !== undefined
        ? `${s.tokensSent} vs ${s.visibleTokens} (${s.sentPerVisible.toFixed(2)}×; median page ${s.medianSentPerVisible?.toFixed(2)}×, ${s.pagesOver13.length} pages over 1.3×)`
        : 'n/a',
    met: s.sentPerVisible !== undefined ? s.sentPerVisible <= 1.3 : null,
  });
  if (speed?.halvingTokens !== undefined && speed.halvingVisibleTokens) {
    const v = speed.halvingVisibleTokens;
    list.push({
      id: 'tokens-strategies',
      what: 'Tokens: the scheduling now (parallel) vs before (halving), same pages, first load',
      target: '≤ 1.3× the visible text',
      value:
        `parallel ${speed.parallelTokens} (${(speed.parallelTokens! / v).toFixed(2)}×, ${speed.parallelRequests} requests) vs ` +
        `halving ${speed.halvingTokens} (${(speed.halvingTokens / v).toFixed(2)}×, ${speed.halvingRequests} requests) over ${speed.halvingPages} pages`,
      met: speed.parallelTokens! <= 1.3 * v,
    });
  }
  list.push({
    id: 'reload',
    what: 'Tokens: a reload sends nothing',
    target: '0 requests',
    value: `${s.reloadRequests} requests over all reloads`,
    met: s.pagesMeasured > 0 ? s.reloadRequests === 0 : null,
  });
  list.push({
    id: 'first-request',
    what: 'Start-up: DOMContentLoaded → the first request, every corpus page and a generated 5 MB conversation page',
    target: '≤ 1 s on every page',
    value:
      s.firstRequestMaxMs !== undefined
        ? `median page ${ms(s.firstRequestMs, 0)}, slowest ${ms(s.firstRequestMaxMs, 0)} (${s.pagesOver1s.length} pages over 1 s${s.pagesOver1s.length ? `: ${s.pagesOver1s.join(', ')}` : ''}); 5 MB page ${ms(s.heavyFirstRequestMs, 0)}`
        : 'n/a',
    met:
      s.firstRequestMaxMs !== undefined
        ? s.pagesOver1s.length === 0 && (s.heavyFirstRequestMs === undefined || s.heavyFirstRequestMs <= 1000)
        : null,
  });
  list.push({
    id: 'coverage',
    what: 'Coverage: words of what each page shows (innerText, less form controls) that were sent',
    target: '≥ 90% on every page',
    value:
      s.coverageMin !== undefined
        ? `median page ${(s.coverage! * 100).toFixed(1)}%, lowest ${(s.coverageMin * 100).toFixed(1)}% (${s.pagesUnder90.length} of ${s.coveragePages} pages under 90%${s.pagesUnder90.length ? `: ${s.pagesUnder90.join(', ')}` : ''})`
        : 'n/a',
    met: s.coverageMin !== undefined ? s.pagesUnder90.length === 0 : null,
  });
  list.push({
    id: 'prompt-guard',
    what: 'Prompt guard delay (Enter → site receives the send, minus the endpoint)',
    target: '≤ 30 ms median',
    value:
      promptGuard?.medianMs !== undefined
        ? `median ${ms(promptGuard.medianMs)}, p95 ${ms(promptGuard.p95Ms)} (from the cache: ${ms(promptGuard.cachedMedianMs)}, p95 ${ms(promptGuard.cachedP95Ms)})`
        : (promptGuard?.note ?? 'not measured'),
    met: promptGuard?.medianMs !== undefined ? promptGuard.medianMs <= 30 : null,
  });
  const plain = throughput.filter((t) => t.kind === 'prompt' && !t.retryAfterSeconds);
  if (plain.length) {
    list.push({
      id: 'throughput',
      what: 'Throughput: achieved vs ideal K / latency (prompts)',
      target: 'reported (no target set)',
      value: plain.map((t) => `K=${t.concurrency}: ${(t.efficiency * 100).toFixed(0)}%`).join(', '),
      met: null,
    });
  }
  return list;
}
