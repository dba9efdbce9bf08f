/**
 * Chromium traces for the page-cost figures: records page loads with the DevTools timeline categories, then
 * works out how much main-thread time the Guardlens content script took.
 *
 * Attribution, inside each top-level task (`RunTask`) on the main thread of every page renderer process (the
 * extension's own renderer, with its tabs and service worker, is left out):
 * - **extension script**: every timeline event that runs a script of the extension — `EvaluateScript`,
 *   `v8.compile`, `FunctionCall`… naming `chrome-extension://<id>/…` — with everything nested in it: the style
 *   recalculation and layout it forces, garbage collection, the events it dispatches;
 * - **its callbacks**: a timer, animation frame or idle callback that an extension script set up, when it fires
 *   (`TimerInstall` → `TimerFire` and the like), whole;
 * - **its promise continuations**: microtask checkpoints (`RunMicrotasks`) in a task that ran extension script
 *   and none of the page's (an `await` in the content script resumes there, outside the `FunctionCall`).
 * The extension's time in a task is the union of those intervals; a task's own overhead around them (a frame's
 * commit, HTML parsing, the page's scripts) is not counted. With `profiler`, V8's sampling profiler also runs and
 * samples whose stack holds an extension script add what the events missed.
 * Style and layout the extension causes without forcing them (a later rendering update after it changed the DOM)
 * cannot be told from the page's own; the with/without comparison of total main-thread time covers them.
 */
import type { CDPSession } from 'playwright-core';

/** `devtools.timeline` for tasks, scripts, style and layout; `v8.execute` for microtask checkpoints. */
export const TRACE_CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8.execute'];
/** V8's sampling profiler: finer attribution, at a cost to the page's own speed and to the trace's size. */
export const PROFILER_CATEGORY = 'disabled-by-default-v8.cpu_profiler';

export interface TraceEvent {
  name: string;
  cat: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  /** Thread clock (µs), when the platform has one. */
  tts?: number;
  tdur?: number;
  id?: string;
  // biome-ignore lint/suspicious/noExplicitAny: trace arguments are free-form.
  args?: any;
}

/** Starts tracing on a page's DevTools session; the returned function stops it and gives the events. */
export async function startTrace(
  cdp: CDPSession,
  options: { profiler?: boolean } = {},
): Promise<() => Promise<TraceEvent[]>> {
  const events: TraceEvent[] = [];
  const onData = (e: { value: object[] }) => {
    for (const event of e.value) events.push(event as TraceEvent);
  };
  cdp.on('Tracing.dataCollected', onData);
  await cdp.send('Tracing.start', {
    traceConfig: {
      includedCategories: options.profiler ? [...TRACE_CATEGORIES, PROFILER_CATEGORY] : TRACE_CATEGORIES,
      recordMode: 'recordAsMuchAsPossible',
    },
    transferMode: 'ReportEvents',
  });
  return async () => {
    const complete = new Promise<void>((resolve) => cdp.once('Tracing.tracingComplete', () => resolve()));
    await cdp.send('Tracing.end');
    await complete;
    cdp.off('Tracing.dataCollected', onData);
    return events;
  };
}

/** Marks a point in the trace (a `TimeStamp` event) from the page's current document. */
export async function markTrace(cdp: CDPSession, label: string): Promise<void> {
  await cdp.send('Runtime.evaluate', { expression: `console.timeStamp(${JSON.stringify(label)})` });
}

/** Trace time of each marker, by label. */
export function traceMarks(events: TraceEvent[]): Map<string, number> {
  const marks = new Map<string, number>();
  for (const e of events) {
    const message = e.name === 'TimeStamp' ? e.args?.data?.message : undefined;
    if (typeof message === 'string' && !marks.has(message)) marks.set(message, e.ts);
  }
  return marks;
}

export interface ExtensionTask {
  /** Trace time (µs) of the task, its whole length and the extension's part (ms). */
  ts: number;
  ms: number;
  extensionMs: number;
  /** The extension's part that is style recalculation or layout (ms). */
  styleLayoutMs: number;
  /** Whether the page's own scripts or parser ran in the same task. */
  withPageWork: boolean;
  /** The evidence, for checking by hand. */
  why: string[];
}

export interface TraceAnalysis {
  /** Every top-level task on the page renderers' main threads, summed. */
  mainThreadMs: number;
  /** The longest of those tasks. */
  longestTaskMs: number;
  /** Main-thread time attributed to the extension (see the file comment). */
  extensionMs: number;
  /** Of that, style recalculation and layout. */
  extensionStyleLayoutMs: number;
  /** Tasks in which extension work ran. */
  extensionTasks: number;
  /** The largest extension part of one task: the longest task the extension's own work makes. */
  extensionLongestMs: number;
  /**
   * The same two figures in thread time (CPU time of the main thread, from the events' \`tdur\`): on a shared
   * machine a busy main thread can wait for a core, which wall time counts and thread time does not.
   */
  extensionCpuMs: number;
  extensionLongestCpuMs: number;
  /** The longest whole task in which extension work ran (page work in the same task included). */
  longestTaskWithExtensionMs: number;
  /** Main-thread time of the extension's service worker (not page cost, shown for context). */
  serviceWorkerMs: number;
  /** Profiler samples seen on page main threads (0 when the profiler was off). */
  samples: number;
  /** With `details`: every task with extension work. */
  tasks?: ExtensionTask[];
}

interface Interval {
  from: number;
  to: number;
}

interface Sample {
  ts: number;
  end: number;
  ext: boolean;
}

const SCRIPT_EVENTS = new Set(['EvaluateScript', 'FunctionCall', 'v8.compile', 'v8.run', 'v8.callFunction']);
const STYLE_LAYOUT = new Set(['Layout', 'UpdateLayoutTree', 'RecalculateStyles']);
/** Callback registrations and their firing: [register event, fire event, id field]. */
const CALLBACK_PAIRS: ReadonlyArray<[string, string, 'timerId' | 'id']> = [
  ['TimerInstall', 'TimerFire', 'timerId'],
  ['RequestAnimationFrame', 'FireAnimationFrame', 'id'],
  ['RequestIdleCallback', 'FireIdleCallback', 'id'],
];

// biome-ignore lint/suspicious/noExplicitAny: trace arguments are free-form.
function urlsOf(args: any): string[] {
  if (!args) return [];
  const out: string[] = [];
  const data = args.data ?? args.beginData;
  for (const u of [data?.url, data?.scriptName, args.fileName, data?.stackTrace?.[0]?.url]) {
    if (typeof u === 'string' && u !== '') out.push(u);
  }
  return out;
}

function threadKey(pid: number, tid: number): string {
  return `${pid}:${tid}`;
}

/** Total length of a set of intervals, overlaps counted once. */
function unionLength(intervals: Interval[]): number {
  const sorted = [...intervals].sort((a, b) => a.from - b.from);
  let total = 0;
  let until = -Infinity;
  for (const { from, to } of sorted) {
    if (to <= until) continue;
    total += to - Math.max(from, until);
    until = to;
  }
  return total;
}

/** Length of `intervals` ∩ `within` (both unions). */
function overlapLength(intervals: Interval[], within: Interval[]): number {
  const cut: Interval[] = [];
  for (const a of intervals) {
    for (const b of within) {
      const from = Math.max(a.from, b.from);
      const to = Math.min(a.to, b.to);
      if (to > from) cut.push({ from, to });
    }
  }
  return unionLength(cut);
}

/** Profiler samples per thread, each marked when an extension script is on its stack. */
function collectSamples(events: TraceEvent[], extOrigin: string): Map<string, Sample[]> {
  const profiles = new Map<string, { thread: string; start: number }>();
  for (const e of events) {
    if (e.name === 'Profile' && e.id !== undefined) {
      profiles.set(`${e.pid}:${e.id}`, {
        thread: threadKey(e.pid, e.tid),
        start: e.args?.data?.startTime ?? e.ts,
      });
    }
  }
  const state = new Map<
    string,
    { ext: Map<number, boolean>; times: number[]; nodes: number[]; last: number }
  >();
  for (const e of events) {
    if (e.name !== 'ProfileChunk' || e.id === undefined) continue;
    const key = `${e.pid}:${e.id}`;
    const profile = profiles.get(key);
    if (!profile) continue;
    let s = state.get(key);
    if (!s) {
      s = { ext: new Map(), times: [], nodes: [], last: profile.start };
      state.set(key, s);
    }
    const data = e.args?.data ?? {};
    for (const node of data.cpuProfile?.nodes ?? []) {
      const url: string = node.callFrame?.url ?? '';
      s.ext.set(
        node.id,
        url.startsWith(extOrigin) || (node.parent !== undefined && !!s.ext.get(node.parent)),
      );
    }
    const samples: number[] = data.cpuProfile?.samples ?? [];
    const deltas: number[] = data.timeDeltas ?? [];
    for (let i = 0; i < samples.length; i++) {
      s.last += deltas[i] ?? 0;
      s.times.push(s.last);
      s.nodes.push(samples[i]!);
    }
  }
  const byThread = new Map<string, Sample[]>();
  for (const [key, s] of state) {
    const thread = profiles.get(key)!.thread;
    const list = byThread.get(thread) ?? [];
    for (let i = 0; i < s.times.length; i++) {
      const ts = s.times[i]!;
      list.push({ ts, end: s.times[i + 1] ?? ts, ext: !!s.ext.get(s.nodes[i]!) });
    }
    byThread.set(thread, list);
  }
  for (const list of byThread.values()) list.sort((a, b) => a.ts - b.ts);
  return byThread;
}

const span = (e: TraceEvent): Interval => ({ from: e.ts, to: e.ts + (e.dur ?? 0) });
const cpuSpan = (e: TraceEvent): Interval[] =>
  e.tts !== undefined && e.tdur !== undefined ? [{ from: e.tts, to: e.tts + e.tdur }] : [];

/**
 * Works out the figures of one trace, or of the tasks that start inside `window` (trace clock, µs).
 * `extOrigin` is `chrome-extension://<id>/`.
 */
export function analyzeTrace(
  events: TraceEvent[],
  extOrigin: string,
  window: Interval = { from: -Infinity, to: Infinity },
  details = false,
): TraceAnalysis {
  const processNames = new Map<number, string>();
  const threadNames = new Map<string, string>();
  for (const e of events) {
    if (e.ph !== 'M') continue;
    if (e.name === 'process_name') processNames.set(e.pid, e.args?.name);
    if (e.name === 'thread_name') threadNames.set(threadKey(e.pid, e.tid), e.args?.name);
  }
  const isExtensionProcess = (pid: number) => processNames.get(pid) === 'Extension Renderer';
  const inWindow = (e: TraceEvent) => e.ts >= window.from && e.ts < window.to;
  const samples = collectSamples(events, extOrigin);

  const byThread = new Map<string, TraceEvent[]>();
  let serviceWorkerUs = 0;
  for (const e of events) {
    if (e.ph !== 'X' && e.ph !== 'I' && e.ph !== 'i') continue;
    if (!inWindow(e)) continue;
    const name = threadNames.get(threadKey(e.pid, e.tid));
    if (isExtensionProcess(e.pid)) {
      if (name === 'ServiceWorker thread' && e.name === 'RunTask' && e.ph === 'X')
        serviceWorkerUs += e.dur ?? 0;
      continue;
    }
    if (name !== 'CrRendererMain') continue;
    const key = threadKey(e.pid, e.tid);
    const list = byThread.get(key) ?? [];
    list.push(e);
    byThread.set(key, list);
  }

  const result: TraceAnalysis = {
    mainThreadMs: 0,
    longestTaskMs: 0,
    extensionMs: 0,
    extensionStyleLayoutMs: 0,
    extensionTasks: 0,
    extensionLongestMs: 0,
    extensionCpuMs: 0,
    extensionLongestCpuMs: 0,
    longestTaskWithExtensionMs: 0,
    serviceWorkerMs: serviceWorkerUs / 1000,
    samples: 0,
  };
  const isExt = (url: string) => url.startsWith(extOrigin);
  const callbackKey = (e: TraceEvent, field: string) => `${e.args?.data?.frame}:${e.args?.data?.[field]}`;

  for (const [thread, list] of byThread) {
    list.sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
    const threadSamples = samples.get(thread) ?? [];
    result.samples += threadSamples.length;
    const extCallbacks = new Set<string>();
    let sampleIndex = 0;
    let i = 0;
    while (i < list.length) {
      const task = list[i]!;
      if (task.name !== 'RunTask' || task.ph !== 'X') {
        i++;
        continue;
      }
      const end = task.ts + (task.dur ?? 0);
      const inside: TraceEvent[] = [];
      let j = i + 1;
      while (j < list.length && list[j]!.ts < end) inside.push(list[j++]!);
      i = j;
      const taskUs = task.dur ?? 0;
      result.mainThreadMs += taskUs / 1000;
      result.longestTaskMs = Math.max(result.longestTaskMs, taskUs / 1000);

      const ext: Interval[] = [];
      const extCpu: Interval[] = [];
      const why: string[] = [];
      let pageScript = false;
      let pageWork = false;
      for (const e of inside) {
        const urls = urlsOf(e.args);
        if (e.ph === 'X' && urls.some(isExt)) {
          ext.push(span(e));
          extCpu.push(...cpuSpan(e));
          if (details) why.push(`${e.name} ${((e.dur ?? 0) / 1000).toFixed(2)}`);
        } else if (SCRIPT_EVENTS.has(e.name) && urls.length > 0) {
          pageScript = true;
          pageWork = true;
        } else if (e.name === 'ParseHTML') {
          pageWork = true;
        }
        for (const [, fire, field] of CALLBACK_PAIRS) {
          if (e.name === fire && e.ph === 'X' && extCallbacks.has(callbackKey(e, field))) {
            ext.push(span(e));
            extCpu.push(...cpuSpan(e));
            if (details) why.push(`callback ${fire} ${((e.dur ?? 0) / 1000).toFixed(2)}`);
          }
        }
      }
      let sampledUs = 0;
      const sampled: Interval[] = [];
      while (sampleIndex < threadSamples.length && threadSamples[sampleIndex]!.end <= task.ts) sampleIndex++;
      for (let k = sampleIndex; k < threadSamples.length && threadSamples[k]!.ts < end; k++) {
        const s = threadSamples[k]!;
        if (!s.ext) continue;
        const from = Math.max(s.ts, task.ts);
        const to = Math.min(s.end, end);
        if (to > from) sampled.push({ from, to });
      }
      if (ext.length === 0 && sampled.length === 0) continue;
      // Promise continuations of the extension's scripts, when the page ran none of its own here.
      if (!pageScript && ext.length > 0) {
        for (const e of inside) {
          if (e.name !== 'RunMicrotasks' || e.ph !== 'X') continue;
          ext.push(span(e));
          extCpu.push(...cpuSpan(e));
        }
      }
      const attributed = [...ext];
      if (sampled.length > 0) {
        sampledUs = unionLength(sampled);
        attributed.push(...sampled);
      }
      const extUs = unionLength(attributed);
      const styleLayoutUs = overlapLength(
        inside.filter((e) => e.ph === 'X' && STYLE_LAYOUT.has(e.name)).map(span),
        attributed,
      );
      // Callbacks the extension's own scripts register are the extension's too.
      for (const e of inside) {
        for (const [register, , field] of CALLBACK_PAIRS) {
          if (e.name === register && attributed.some((x) => e.ts >= x.from && e.ts <= x.to)) {
            extCallbacks.add(callbackKey(e, field));
          }
        }
      }
      result.extensionTasks++;
      result.extensionMs += extUs / 1000;
      result.extensionStyleLayoutMs += styleLayoutUs / 1000;
      result.extensionLongestMs = Math.max(result.extensionLongestMs, extUs / 1000);
      const cpuUs = unionLength(extCpu);
      result.extensionCpuMs += cpuUs / 1000;
      result.extensionLongestCpuMs = Math.max(result.extensionLongestCpuMs, cpuUs / 1000);
      result.longestTaskWithExtensionMs = Math.max(result.longestTaskWithExtensionMs, taskUs / 1000);
      if (details) {
        if (sampledUs > 0) why.push(`samples ${(sampledUs / 1000).toFixed(2)}`);
        result.tasks ??= [];
        result.tasks.push({
          ts: task.ts,
          ms: taskUs / 1000,
          extensionMs: extUs / 1000,
          styleLayoutMs: styleLayoutUs / 1000,
          withPageWork: pageWork,
          why,
        });
      }
    }
  }
  return result;
}
