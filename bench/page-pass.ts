/**
 * The corpus pass: every page loaded a few times with Guardlens and a few times without, interleaved, each
 * load traced; plus the page's visible text, one timed `innerText` read and one timed walk of its nodes, the
 * isolate heap on the largest pages, and the model requests each load with Guardlens caused. With a floor
 * browser (`floor.ts`) each page is also loaded as often with a content script that does nothing but ask its
 * background once.
 */
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import type { GuardlensBrowser, StaticServer } from '../test/e2e/harness';
import { coverage, shownText } from '../test/e2e/page/helpers';
import type { GuardServer, RecordedRequest } from '../test/server/guard-server';
import type { BaselineBrowser } from './browsers';
import type { FloorBrowser } from './floor';
import {
  type CorpusPage,
  heapAfterGc,
  type LoadSample,
  loadAndSettle,
  type SettleOptions,
  timeInnerText,
  timeNodeWalk,
  viewportPhrase,
} from './pages';
import { isModelRequest, promptTokensOf, type TextTokens, textTokens } from './tokens';
import { analyzeTrace, markTrace, startTrace, type TraceEvent, traceMarks } from './trace';

export interface PageRun {
  name: string;
  bytes: number;
  url: string;
  /** Loads with Guardlens; the first with an empty verdict cache, the others reloads. */
  ext: LoadSample[];
  /** Loads without it. */
  base: LoadSample[];
  /** One `document.body.innerText` read per baseline load, ms. */
  innerTextMs: number[];
  /** One walk of every node under `document.body` (a `TreeWalker`) per baseline load, ms. */
  nodeWalkMs: number[];
  /** Loads with the floor extension (`floor.ts`), when measured. */
  floor: LoadSample[];
  text?: TextTokens & { chars: number };
  /** Model requests and `usage.prompt_tokens` per load with Guardlens (index = load). */
  requests: number[];
  promptTokens: number[];
  /** Requests the test server answered with an error. */
  failedRequests: number;
  /** The start of what each request of a reload classified (a reload should send nothing). */
  reloadTexts: string[];
  /** A phrase in the viewport that occurs once in the page (for the time to first verdict). */
  phrase?: string;
  /** First load: from DOMContentLoaded to the first model request the endpoint received (ms). */
  firstRequestMs?: number;
  /** First load: words of what the page shows (`shownText`) that the requests' texts hold. */
  coverage?: { words: number; found: number; share: number };
  error?: string;
}

export interface PagePassOptions {
  gl: GuardlensBrowser;
  base: BaselineBrowser;
  /** Loads each page with the floor extension too. */
  floor?: FloorBrowser;
  guard: GuardServer;
  site: StaticServer;
  pages: CorpusPage[];
  reps: number;
  /** Pages whose heap is measured. */
  heapPages: Set<string>;
  /** Settings for the extension; `model` is replaced per page to start each page with an empty cache. */
  settings: Record<string, unknown>;
  apiKey: string;
  /** Trace with V8's sampling profiler too (finer attribution, slower pages and traces). */
  profiler: boolean;
  log: (line: string) => void;
}

const EXT_SETTLE: Omit<SettleOptions, 'inFlight'> = { minMs: 500, quietMs: 250, maxMs: 4000, busyShare: 0.2 };
const BASE_SETTLE: SettleOptions = { minMs: 250, quietMs: 250, maxMs: 4000, busyShare: 0.2 };
/** The engine may send a follow-up request (a bisection, the next chunk) right after an answer. */
const AFTER_ANSWER_MS = 250;

/** Model requests recorded since index `from`, with their prompt tokens. */
async function requestsSince(
  guard: GuardServer,
  from: number,
): Promise<{ list: RecordedRequest[]; tokens: number }> {
  const list = guard.requests.slice(from).filter(isModelRequest);
  let tokens = 0;
  for (const r of list) if (r.status === 200) tokens += await promptTokensOf(r);
  return { list, tokens };
}

interface Tab {
  page: Page;
  cdp: CDPSession;
}

async function openTab(context: BrowserContext): Promise<Tab> {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  return { page, cdp };
}

/**
 * One browser-wide trace over several pages (stopping a trace costs seconds on a busy machine, mostly waiting
 * for every renderer process to flush, so it is paid once per batch rather than per page).
 */
class BatchTracer {
  private stop: (() => Promise<TraceEvent[]>) | undefined;
  private pending: Array<{ name: string; samples: LoadSample[] }> = [];

  constructor(
    private readonly session: CDPSession,
    private readonly extOrigin: string,
    private readonly profiler: boolean,
  ) {}

  async ensureStarted(): Promise<void> {
    this.stop ??= await startTrace(this.session, { profiler: this.profiler });
  }

  /** The loads of a page whose markers are in the running trace. */
  add(name: string, samples: LoadSample[]): void {
    this.pending.push({ name, samples });
  }

  get size(): number {
    return this.pending.length;
  }

  /** Stops the trace and fills in every pending load's analysis from the events between its markers. */
  async flush(): Promise<void> {
    const stop = this.stop;
    this.stop = undefined;
    if (!stop) return;
    const events = await stop();
    const marks = traceMarks(events);
    for (const { name, samples } of this.pending.splice(0)) {
      samples.forEach((sample, i) => {
        const from = marks.get(markLabel(name, 'start', i));
        const to = marks.get(markLabel(name, 'end', i));
        if (from !== undefined && to !== undefined)
          sample.trace = analyzeTrace(events, this.extOrigin, { from, to });
      });
    }
  }
}

function markLabel(page: string, edge: 'start' | 'end', load: number): string {
  return `guardlens-bench:${page}:${edge}:${load}`;
}

/** The engine's persisted state in `storage.session` names the settings fingerprint it runs with. */
function engineFingerprint(gl: GuardlensBrowser): Promise<string | undefined> {
  return gl
    .extensionEval(() =>
      browser.storage.session.get('engine').then((v) => {
        const engine = v.engine as { fingerprint?: unknown } | undefined;
        return typeof engine?.fingerprint === 'string' ? engine.fingerprint : '';
      }),
    )
    .catch(() => undefined);
}

/**
 * Applies settings with a model id of their own: the settings fingerprint changes, so the verdict cache starts
 * empty. Waits until the engine runs with the new fingerprint (or 3 s), then a little for the cache to clear.
 */
export async function freshCache(
  gl: GuardlensBrowser,
  settings: Record<string, unknown>,
  apiKey: string,
): Promise<void> {
  const before = await engineFingerprint(gl);
  await gl.configure(settings, apiKey);
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline) {
    const now = await engineFingerprint(gl);
    if (now !== undefined && now !== '' && now !== before) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
}

/** Pages per trace, unless told otherwise. */
const TRACE_BATCH = Number(process.env.GUARDLENS_BENCH_TRACE_BATCH) || 8;

const DEBUG = process.env.GUARDLENS_BENCH_DEBUG === '1';

export async function runPagePass(o: PagePassOptions): Promise<PageRun[]> {
  const extOrigin = `${o.gl.extensionOrigin}/`;
  const ctx = o.gl.chromium!.context;
  const inFlight = () => {
    const now = Date.now();
    let n = 0;
    for (const r of o.guard.requests) {
      if (!isModelRequest(r)) continue;
      if (r.answeredAt === undefined || now - r.answeredAt < AFTER_ANSWER_MS) n++;
    }
    return n;
  };
  const browserSession = async (context: BrowserContext) => {
    const browser = context.browser();
    if (!browser) throw new Error('playwright gave no browser for this context');
    return browser.newBrowserCDPSession();
  };
  const tracers = [
    new BatchTracer(await browserSession(ctx), extOrigin, o.profiler),
    new BatchTracer(await browserSession(o.base.context), extOrigin, o.profiler),
  ] as const;
  const floorTracer = o.floor
    ? new BatchTracer(await browserSession(o.floor.context), `${o.floor.extensionOrigin}/`, o.profiler)
    : undefined;
  const allTracers = floorTracer ? [...tracers, floorTracer] : [...tracers];
  // The browsers write their traces at the same time.
  const flush = () => Promise.all(allTracers.map((t) => t.flush()));
  const runs: PageRun[] = [];
  for (const [index, corpusPage] of o.pages.entries()) {
    const url = o.site.url(`/corpus/${corpusPage.name}/source.html`);
    const run: PageRun = {
      name: corpusPage.name,
      bytes: corpusPage.bytes,
      url,
      ext: [],
      base: [],
      innerTextMs: [],
      nodeWalkMs: [],
      floor: [],
      requests: [],
      promptTokens: [],
      failedRequests: 0,
      reloadTexts: [],
    };
    runs.push(run);
    const started = Date.now();
    let lapAt = started;
    const lap = (what: string) => {
      if (!DEBUG) return;
      const now = Date.now();
      o.log(`    ${what}: ${now - lapAt} ms`);
      lapAt = now;
    };
    const heap = o.heapPages.has(corpusPage.name);
    await freshCache(o.gl, { ...o.settings, model: `bench-${corpusPage.name}` }, o.apiKey);
    lap('configure');
    let extTab: Tab | undefined;
    let baseTab: Tab | undefined;
    let floorTab: Tab | undefined;
    try {
      await Promise.all(allTracers.map((t) => t.ensureStarted()));
      extTab = await openTab(ctx);
      baseTab = await openTab(o.base.context);
      if (o.floor) floorTab = await openTab(o.floor.context);
      // The extension is done with a load once the tab's state (storage.session) is for this page, has
      // verdicts and nothing pending; a page with no text never gets there and waits out the longest settle.
      let tabId: number | undefined;
      const done = async () => {
        tabId ??= await o.gl.tabIdOf(url, { timeoutMs: 2000 });
        const state = await o.gl.tabState(tabId);
        return !!state && state.url === url && state.pending === 0 && state.scanned > 0;
      };
      // The first load's texts sent, and what the page shows without Guardlens, for the coverage.
      let sentText: string | undefined;
      let shown: string | undefined;
      for (let rep = 0; rep < o.reps; rep++) {
        const order = rep % 2 === 0 ? (['ext', 'base'] as const) : (['base', 'ext'] as const);
        for (const which of order) {
          const tab = which === 'ext' ? extTab : baseTab;
          const from = o.guard.requests.length;
          await markTrace(tab.cdp, markLabel(corpusPage.name, 'start', rep));
          const sample = await loadAndSettle(tab.page, tab.cdp, {
            url,
            reload: rep > 0,
            settle:
              which === 'ext'
                ? { ...EXT_SETTLE, maxMs: rep === 0 ? 10_000 : 4000, inFlight, done }
                : BASE_SETTLE,
          });
          await markTrace(tab.cdp, markLabel(corpusPage.name, 'end', rep));
          lap(`${which} load ${rep} (load ${sample.loadMs?.toFixed(0)} ms, settle ${sample.settleMs} ms)`);
          if (heap) sample.heapUsedBytes = await heapAfterGc(tab.cdp);
          if (which === 'ext') {
            const sent = await requestsSince(o.guard, from);
            run.ext.push(sample);
            run.requests.push(sent.list.length);
            run.promptTokens.push(sent.tokens);
            run.failedRequests += sent.list.filter((r) => r.status !== 200).length;
            if (rep > 0) for (const r of sent.list) run.reloadTexts.push((r.text ?? '').slice(0, 160));
            if (rep === 0) {
              sentText = sent.list.map((r) => r.text ?? '').join('\n');
              const first = Math.min(...sent.list.map((r) => r.receivedAt));
              if (sent.list.length && sample.dclMs !== undefined)
                run.firstRequestMs = first - (sample.timeOrigin + sample.dclMs);
            }
          } else {
            run.base.push(sample);
            const read = await timeInnerText(tab.page);
            run.innerTextMs.push(read.ms);
            run.nodeWalkMs.push(await timeNodeWalk(tab.page));
            if (rep === 0) {
              run.text = { ...(await textTokens(read.text)), chars: read.text.length };
              run.phrase = await viewportPhrase(tab.page);
              shown = await shownText(tab.page);
            }
          }
        }
        if (floorTab) {
          await markTrace(floorTab.cdp, markLabel(corpusPage.name, 'start', rep));
          const sample = await loadAndSettle(floorTab.page, floorTab.cdp, {
            url,
            reload: rep > 0,
            settle: BASE_SETTLE,
          });
          await markTrace(floorTab.cdp, markLabel(corpusPage.name, 'end', rep));
          run.floor.push(sample);
        }
      }
      if (sentText !== undefined && shown !== undefined) run.coverage = coverage(shown, sentText);
    } catch (error) {
      run.error = error instanceof Error ? error.message.split('\n')[0] : String(error);
    } finally {
      await extTab?.page.close().catch(() => {});
      await baseTab?.page.close().catch(() => {});
      await floorTab?.page.close().catch(() => {});
    }
    tracers[0].add(corpusPage.name, run.ext);
    tracers[1].add(corpusPage.name, run.base);
    floorTracer?.add(corpusPage.name, run.floor);
    if (tracers[0].size >= TRACE_BATCH || index === o.pages.length - 1) {
      await flush();
      lap('traces');
    }
    o.log(
      `  [${index + 1}/${o.pages.length}] ${corpusPage.name}: ${((Date.now() - started) / 1000).toFixed(1)} s` +
        (run.error ? ` — error: ${run.error}` : ''),
    );
  }
  return runs;
}
