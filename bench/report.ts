/** The Markdown report (`bench/results/latest.md`) and the README's "Performance" section. */
import type { BundleSizes } from './bundle';
import type { HeavyRun } from './heavy';
import type { HalvingRun, ViewportRun } from './speed';
import type { CorpusSummary, PageFigures, PromptGuardFigures, SpeedSummary, Target } from './summary';
import type { ThroughputRun } from './throughput';
import type { TtfvRun } from './ttfv';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGb: number;
  os: string;
  node: string;
  chromium: string;
  loadAverageStart: number[];
  loadAverageEnd?: number[];
}

export interface RunInfo {
  date: string;
  seconds: number;
  build: { source: string; commit: string; uncommitted: string[] };
  config: {
    reps: number;
    pages: number;
    ttfvLatencyMs: number;
    /** Every latency the time to first verdict and the viewport were measured at (runs before 2026-12-07: none). */
    ttfvLatenciesMs?: number[];
    throughputLatencyMs: number;
    settings: Record<string, unknown>;
    profiler: boolean;
  };
}

export interface Report {
  machine: MachineInfo;
  run: RunInfo;
  summary: CorpusSummary;
  targets: Target[];
  pages: PageFigures[];
  ttfv: TtfvRun[];
  /** The time to first verdict at every latency, the whole first viewport judged, tokens under halving. */
  ttfvAll?: TtfvRun[];
  viewport?: ViewportRun[];
  halving?: HalvingRun[];
  speed?: SpeedSummary;
  /** Start-up on the generated 5 MB conversation page (`heavy.ts`). */
  heavy?: HeavyRun;
  promptGuard?: PromptGuardFigures;
  throughput: ThroughputRun[];
  bundle: BundleSizes;
}

const n = (v: number | undefined, digits = 1) => (v === undefined ? '–' : v.toFixed(digits));
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const mb = (bytes: number | undefined) =>
  bytes === undefined ? '–' : `${(bytes / 1024 / 1024).toFixed(2)} MB`;
const ratioText = (a: number | undefined, b: number | undefined, digits = 2) =>
  a === undefined || b === undefined || b === 0 ? '–' : `${(a / b).toFixed(digits)}×`;
const mark = (met: boolean | null) => (met === null ? '—' : met ? '**met**' : '**not met**');
const pct = (v: number) => `${((v - 1) * 100).toFixed(1)}%`;

/** A Markdown table with its columns padded to one width, as the formatter writes them. */
function table(head: string[], rows: string[][]): string {
  const width = (text: string) => [...text].length;
  const widths = head.map((h, c) => Math.max(3, width(h), ...rows.map((r) => width(r[c] ?? ''))));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, c) => cell + ' '.repeat(widths[c]! - width(cell))).join(' | ')} |`;
  return [
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(head.map((_, c) => r[c] ?? ''))),
  ].join('\n');
}

export function machineLine(r: Report): string {
  const m = r.machine;
  return (
    `${m.cpu}, ${m.cores} cores, ${m.memoryGb.toFixed(0)} GB, ${m.os}; Node ${m.node}; Chromium ${m.chromium} ` +
    `(headless); load average ${m.loadAverageStart.map((x) => x.toFixed(1)).join(' / ')} at the start — ` +
    'shared with other engineers, so absolute times are noisy; each figure has its baseline from the same run'
  );
}

function buildLine(r: Report): string {
  const b = r.run.build;
  const what =
    b.source === 'head'
      ? `the committed HEAD \`${b.commit.slice(0, 10)}\``
      : b.source === 'worktree'
        ? `the working tree at \`${b.commit.slice(0, 10)}\`${b.uncommitted.length ? ` with ${b.uncommitted.length} uncommitted changed files` : ''}`
        : `the existing \`.output/chrome-mv3\` (HEAD \`${b.commit.slice(0, 10)}\`)`;
  return `Production Chrome build (\`wxt build\`) of ${what}.`;
}

/** The headline table: the targets with their figures. */
export function targetsTable(r: Report): string {
  return table(
    ['what', 'measured (with Guardlens vs baseline)', 'target', 'status'],
    r.targets.map((t) => [t.what, t.value, t.target, mark(t.met)]),
  );
}

export function summaryTable(r: Report): string {
  const s = r.summary;
  const rows: string[][] = [
    [
      'Extension main-thread time per page (median; thread time in brackets)',
      `${n(s.extensionMs)} ms (${n(s.extensionCpuMs)} ms)`,
      `one \`innerText\` read: ${n(s.innerTextMs, 2)} ms`,
      ratioText(s.extensionMs, s.innerTextMs, 1),
    ],
    ['… of which style / layout inside its tasks', `${n(s.extensionStyleLayoutMs)} ms`, '', ''],
    [
      'Floor: a content script that only asks its background once (median; thread time in brackets)',
      `${n(s.floorMs)} ms (${n(s.floorCpuMs)} ms)`,
      `one \`innerText\` read: ${n(s.innerTextMs, 2)} ms`,
      ratioText(s.floorMs, s.innerTextMs, 1),
    ],
    [
      'Guardlens above that floor, thread time (median page)',
      `${n(s.ownCpuMs)} ms`,
      `one \`innerText\` read: ${n(s.innerTextMs, 2)} ms`,
      ratioText(s.ownCpuMs, s.innerTextMs, 1),
    ],
    [
      'A bare walk of every node in the page (`TreeWalker`, median)',
      `${n(s.nodeWalkMs, 2)} ms`,
      `one \`innerText\` read: ${n(s.innerTextMs, 2)} ms`,
      ratioText(s.nodeWalkMs, s.innerTextMs, 1),
    ],
    [
      'Longest extension part of one task (median page; thread time in brackets)',
      `${n(s.extensionLongestMs)} ms (${n(s.extensionLongestCpuMs)} ms)`,
      '50 ms',
      `${s.pagesOver50.length} pages over (${s.pagesOver50Cpu.length} in thread time)`,
    ],
    [
      'All main-thread work per page load (median)',
      `${n(s.mainThreadWithMs)} ms`,
      `without: ${n(s.mainThreadWithoutMs)} ms`,
      ratioText(s.mainThreadWithMs, s.mainThreadWithoutMs),
    ],
    [
      'Load event (median)',
      `${n(s.loadWithMs, 0)} ms`,
      `without: ${n(s.loadWithoutMs, 0)} ms`,
      `median page ${n(s.loadRatio, 3)}×`,
    ],
    [
      'First contentful paint (median)',
      `${n(s.fcpWithMs, 0)} ms`,
      `without: ${n(s.fcpWithoutMs, 0)} ms`,
      `median page ${n(s.fcpRatio, 3)}×`,
    ],
    [
      'Load event / first contentful paint with the floor extension instead (median page)',
      '',
      'without any extension',
      `${n(s.floorLoadRatio, 3)}× / ${n(s.floorFcpRatio, 3)}×`,
    ],
    [
      `Content script heap (isolate heap with − without, ${s.heapPages.length} largest pages, median)`,
      mb(s.heapDeltaBytes),
      '',
      '',
    ],
    [
      'Prompt tokens sent, first load, whole corpus',
      String(s.tokensSent),
      `visible text: ${s.visibleTokens}; naive client: ${s.naiveTokens}`,
      `${ratioText(s.tokensSent, s.visibleTokens)} of visible; naive ${ratioText(s.naiveTokens, s.visibleTokens, 1)}`,
    ],
    ['Requests on reload (all pages)', String(s.reloadRequests), '0', ''],
    [
      'DOMContentLoaded → first request, first load (median page; slowest page)',
      `${n(s.firstRequestMs, 0)} ms; ${n(s.firstRequestMaxMs, 0)} ms`,
      `generated ${n((s.heavyBytes ?? 0) / 1e6, 1)} MB conversation page: ${n(s.heavyFirstRequestMs, 0)} ms`,
      `${s.pagesOver1s.length} pages over 1 s`,
    ],
    [
      'Coverage of what the page shows (innerText less form controls), first load (median page; lowest page)',
      s.coverage !== undefined
        ? `${(s.coverage * 100).toFixed(1)}%; ${((s.coverageMin ?? 0) * 100).toFixed(1)}%`
        : '–',
      '90% on every page',
      `${s.pagesUnder90.length} of ${s.coveragePages} pages under 90%`,
    ],
    [
      'Time to first verdict in the viewport (median)',
      `${n(s.ttfvMs, 0)} ms`,
      `endpoint: ${n(s.ttfvEndpointMs, 0)} ms`,
      `Guardlens' own share: ${n(s.ttfvOwnMs, 0)} ms`,
    ],
    ...(r.speed?.latencies ?? []).flatMap((l) => [
      [
        `Time to first verdict in the viewport, DOMContentLoaded → flagged mark (median; endpoint ${l.latencyMs} ms)`,
        `${n(l.ttfvMs, 0)} ms`,
        `2× latency + 100 ms: ${2 * l.latencyMs + 100} ms`,
        `${n(l.ttfvChain, 0)} requests on the way; own share ${n(l.ownMs, 0)} ms`,
      ],
      [
        `Whole first viewport judged, nothing flagged, DOMContentLoaded → last answer (median; endpoint ${l.latencyMs} ms)`,
        `${n(l.viewportMs, 0)} ms`,
        `1× latency + 100 ms: ${l.latencyMs + 100} ms`,
        `${l.viewportUnsent} of ${l.viewportTexts} viewport texts never sent`,
      ],
    ]),
    ...(r.speed?.halvingTokens !== undefined && r.speed.halvingVisibleTokens
      ? [
          [
            'Prompt tokens, first load, scheduling now (parallel) vs before (halving), same pages',
            `${r.speed.parallelTokens} (${r.speed.parallelRequests} requests)`,
            `halving: ${r.speed.halvingTokens} (${r.speed.halvingRequests} requests); visible text ${r.speed.halvingVisibleTokens}`,
            `${ratioText(r.speed.parallelTokens, r.speed.halvingVisibleTokens)} vs ${ratioText(r.speed.halvingTokens, r.speed.halvingVisibleTokens)} of visible`,
          ],
        ]
      : []),
    [
      'Prompt guard: what it adds to a send, Enter → site (median / p95)',
      r.promptGuard?.medianMs !== undefined
        ? `${n(r.promptGuard.medianMs)} / ${n(r.promptGuard.p95Ms)} ms`
        : 'not measured',
      r.promptGuard?.medianMs !== undefined
        ? `whole send ${n(r.promptGuard.totalMedianMs)} ms − endpoint ${n(r.promptGuard.endpointMedianMs)} ms − page alone ${n(r.promptGuard.baselineMedianMs)} ms`
        : (r.promptGuard?.note ?? ''),
      r.promptGuard?.cachedMedianMs !== undefined
        ? `from the cache: ${n(r.promptGuard.cachedMedianMs)} / ${n(r.promptGuard.cachedP95Ms)} ms`
        : '',
    ],
    [
      'Extension service worker time per page load (median, not page cost)',
      `${n(s.serviceWorkerMs)} ms`,
      '',
      '',
    ],
  ];
  return table(['figure', 'with Guardlens', 'baseline', 'ratio'], rows);
}

function pagesTable(r: Report): string {
  return table(
    [
      'page',
      'KB',
      'ext ms (thread)',
      'style/layout ms',
      'innerText ms',
      'ext / innerText',
      'floor ms (thread)',
      'node walk ms',
      'longest ext part ms (worst; thread)',
      'main thread with / without ms',
      'load with / without ms',
      'FCP with / without ms',
      'tokens sent / visible / naive',
      'tokens, requests (halving)',
      'requests (reload)',
      'DCL → 1st request ms',
      'coverage (words)',
    ],
    r.pages.map((p) =>
      p.error && p.extensionMs === undefined
        ? [p.name, n(p.kb, 0), `error: ${p.error}`, '', '', '', '', '', '', '', '', '', '', '', '', '', '']
        : [
            p.name,
            n(p.kb, 0),
            `${n(p.extensionMs)} (${n(p.extensionCpuMs)})`,
            n(p.extensionStyleLayoutMs),
            n(p.innerTextMs, 2),
            n(p.extensionPerInnerText, 1),
            `${n(p.floorMs)} (${n(p.floorCpuMs)})`,
            n(p.nodeWalkMs, 2),
            `${n(p.extensionLongestMs)} (${n(p.extensionLongestWorstMs)}; ${n(p.extensionLongestCpuMs)})`,
            `${n(p.mainThreadWithMs, 0)} / ${n(p.mainThreadWithoutMs, 0)}`,
            `${n(p.loadWithMs, 0)} / ${n(p.loadWithoutMs, 0)}`,
            `${n(p.fcpWithMs, 0)} / ${n(p.fcpWithoutMs, 0)}`,
            `${p.tokensSent ?? '–'} / ${p.visibleTokens ?? '–'} / ${p.naiveTokens ?? '–'}`,
            halvingCell(r, p.name),
            `${p.requests ?? '–'} (${p.reloadRequests ?? '–'})`,
            n(p.firstRequestMs, 0),
            p.coverage !== undefined ? `${(p.coverage * 100).toFixed(1)}% (${p.shownWords})` : '–',
          ],
    ),
  );
}

function halvingCell(r: Report, name: string): string {
  const h = r.halving?.find((x) => x.name === name);
  return h ? (h.error ? `error: ${h.error}` : `${h.tokens}, ${h.requests}`) : '–';
}

/** Time to first verdict and the whole first viewport, per page, at every latency measured. */
function speedTables(r: Report): string {
  const latencies = r.run.config.ttfvLatenciesMs ?? [r.run.config.ttfvLatencyMs];
  const out: string[] = [];
  for (const latency of latencies) {
    const t = (r.ttfvAll ?? r.ttfv).filter((x) => (x.latencyMs ?? r.run.config.ttfvLatencyMs) === latency);
    const v = (r.viewport ?? []).filter((x) => x.latencyMs === latency);
    out.push(`### Endpoint answering in ${latency} ms`, '');
    out.push(
      t.length
        ? table(
            [
              'page',
              'phrase',
              'DOMContentLoaded ms',
              'first request ms',
              'requests',
              'endpoint ms',
              'first verdict ms',
              'DCL → verdict ms',
              'own share ms',
            ],
            t.map((x) => [
              x.name,
              `“${x.phrase}”`,
              n(x.dclMs, 0),
              n(x.firstRequestMs, 0),
              String(x.chainRequests),
              n(x.endpointMs, 0),
              x.ttfvMs !== undefined ? n(x.ttfvMs, 0) : `– (${x.error ?? 'no verdict'})`,
              n(x.dclToFlagMs, 0),
              n(x.ownMs, 0),
            ]),
          )
        : 'Time to first verdict not measured.',
      '',
    );
    out.push(
      v.length
        ? table(
            ['page', 'viewport texts', 'never sent', 'requests', 'DCL → whole viewport judged ms'],
            v.map((x) => [
              x.name,
              String(x.texts),
              x.unsent ? `${x.unsent} (${x.unsentSamples.map((u) => `“${u}”`).join(', ')})` : '0',
              String(x.requests),
              x.error ? `– (${x.error})` : n(x.judgedMs, 0),
            ]),
          )
        : 'Whole first viewport not measured.',
      '',
    );
  }
  return out.join('\n');
}

function reloadSection(r: Report): string {
  const pages = r.pages.filter((p) => p.reloadTexts?.length);
  if (pages.length === 0) return 'Nothing: every reload was answered from the verdict cache.';
  return [
    'Requests made by reloads, with the start of the text each classified (text that differs between loads,',
    'such as a clock or a rotating teaser, has a new content key and is checked again):',
    '',
    ...pages.flatMap((p) =>
      p.reloadTexts!.map((t) => `- ${p.name}: “${t.replace(/\s+/g, ' ').slice(0, 140)}…”`),
    ),
  ].join('\n');
}

function heapTable(r: Report): string {
  const rows = r.pages
    .filter((p) => p.heapWithBytes !== undefined && p.heapWithoutBytes !== undefined)
    .map((p) => [
      p.name,
      n(p.kb, 0),
      mb(p.heapWithBytes),
      mb(p.heapWithoutBytes),
      mb(p.heapWithBytes! - p.heapWithoutBytes!),
    ]);
  return table(['page', 'KB', 'heap with', 'heap without', 'content script'], rows);
}

function throughputTable(r: Report): string {
  return table(
    [
      'run',
      'items',
      'requests',
      '429s',
      'failed',
      'seconds',
      'items/s',
      'requests/s',
      'ideal K/L',
      'achieved',
    ],
    r.throughput.map((t) => [
      t.label,
      String(t.items),
      String(t.requests),
      String(t.rateLimited),
      String(t.failed),
      n(t.seconds, 2),
      n(t.itemsPerSecond),
      n(t.requestsPerSecond),
      n(t.idealRequestsPerSecond),
      `${(t.efficiency * 100).toFixed(0)}%`,
    ]),
  );
}

export function bundleTable(r: Report): string {
  return table(
    ['entry point', 'files', 'size', 'gzip'],
    [
      ...r.bundle.entries.map((e) => [
        e.entry,
        e.files.map((f) => `\`${f}\``).join(', '),
        kb(e.bytes),
        kb(e.gzipBytes),
      ]),
      ['whole build', `${r.bundle.totalFiles} files`, kb(r.bundle.totalBytes), ''],
    ],
  );
}

const METHOD = `## Method

- **Browsers.** Headless Chromium instances launched the same way (the E2E harness's flags, a 1280×800
  viewport, a fresh profile, and its blocking proxy, so every request that is not to 127.0.0.1 is refused):
  one with the Guardlens production build loaded, one without any extension (the baseline), and one with the
  floor extension (below). The corpus pages
  (\`../shared/corpus/pages/*/source.html\`) are served by the harness's static server; the extension talks
  to the local Llama Guard test server (chat mode, Llama Guard 4, answering at once for the page pass).
- **Loads.** One warm-up page goes through the extension first. Then each page is loaded several times in each
  browser, alternating which browser goes first: the first load with Guardlens starts with an empty verdict
  cache (each page gets its own model id, which changes the settings fingerprint and clears the cache), the
  others are reloads. After the load event a load waits until the page is settled: at least 0.5 s (0.25 s
  without the extension), then until the main thread was busy less than 20% of 0.25 s; with Guardlens also
  until the tab's state in \`storage.session\` is for this page with verdicts and nothing pending, and no model
  request is under way or was answered in the last 0.25 s (at most 10 s for a first load, 4 s for a reload).
  Per page the median of the loads is taken; corpus figures are medians over pages.
- **Page cost.** Both browsers are traced over the DevTools protocol, browser-wide, eight pages per trace
  (\`Tracing\` with \`devtools.timeline\`, \`disabled-by-default-devtools.timeline\` and \`v8.execute\`), with
  a marker before and after each load. Inside each top-level task (\`RunTask\`) on the main thread of every page
  renderer process (iframes in their own processes included; the extension's own process is not), the
  extension's time is the union of: the timeline events that run a script of the extension
  (\`EvaluateScript\` / \`v8.compile\` / \`FunctionCall\` naming \`chrome-extension://<id>/…\`, e.g.
  \`content-scripts/content.js\`) with everything nested in them (forced style and layout, garbage collection);
  timers, animation frames and idle callbacks those scripts registered, when they fire; and microtask
  checkpoints in tasks that ran extension script and none of the page's (where an \`await\` resumes). A task's
  other work (a frame's commit, HTML parsing, the page's scripts) is not counted. Style and layout the extension
  causes without forcing it cannot be told apart from the page's; the with/without totals of main-thread work
  show it, with the page's own noise. "Longest extension part" is the largest extension time inside one task.
  Each figure is given in wall time and, in brackets, in thread time (the events' \`tdur\`): on this shared
  machine a main thread often waits for a core, which wall time counts; the targets are judged on wall time.
- **innerText.** One \`document.body.innerText\` read, timed with \`performance.now()\` (100 µs resolution) in
  the baseline browser once the page settled: the browser's native text extraction. Beside it, timed the same
  way in the same page: one walk of every node under \`body\` with a \`TreeWalker\` that reads each node's type
  and nothing else (the least any script that reads a page node by node does).
- **Floor.** A third Chromium, launched like the others, with a generated extension (\`bench/floor.ts\`) whose
  content script starts in every frame at \`document_start\` and asks its service worker one question, as
  Guardlens does on an excluded site. Each page is loaded as often in it and traced the same way: its extension
  time is what Chromium charges for any content script (the isolated world, the script, the API bindings, one
  message) before Guardlens' own work. "Guardlens above that floor" is, per page, Guardlens' thread time minus
  the floor's.
- **Load delay.** \`loadEventStart\` and \`first-contentful-paint\` from the page's own performance timeline,
  with vs without the extension (both browsers traced the same way, so tracing costs both the same).
- **Time to first verdict and the first viewport.** At each \`--ttfv-latency\` (250 and 1000 ms), on up to 10
  pages spread over the corpus: the time to first verdict as above, judged from DOMContentLoaded (2 round trips +
  100 ms is the target: the chunk that holds the phrase, then its block alone); and, with nothing flagged, the
  visible texts of the first viewport read right after load (text nodes whose boxes meet the viewport, form
  controls left out), each judged when the first request whose text holds it is answered — DOMContentLoaded →
  the last of those answers is how long "hide until judged" would keep a safe page hidden. Texts no request
  carried are counted in the table, not dropped.
- **Scheduling strategies.** Page text is scheduled \`parallel\` (viewport first, spread over the free slots, a
  flagged viewport chunk cut k ways at once) since 2026-12-07. Each corpus page is loaded once more, empty cache,
  with \`engineTuning.strategy = 'halving'\` (the strategy before), and its tokens and requests are shown beside.
- **Memory.** On the largest pages, after a forced full garbage collection (\`HeapProfiler.collectGarbage\`),
  \`Runtime.getHeapUsage\` gives the used JS heap of the page's V8 isolate. The content script's isolated world
  lives in that same isolate (the call does not split it by context), so the content script's heap is the
  median with the extension minus the median without.
- **Tokens.** \`usage.prompt_tokens\` as the test server computes it (the real Llama 3 tokenizer; in chat mode
  a fixed 300 tokens for the policy header plus the rendered \`User: …\` turns), summed over the requests of
  the first load. The visible text is \`document.body.innerText\` of the baseline page, tokenized the same way.
  The naive client sends each non-empty line of \`innerText\` as its own chat request: 300 + tokens of
  \`User: <line>\` per line. Reloads must send nothing.
- **Time to first verdict.** The test server answers in a fixed time and flags one short phrase that is
  visible in the viewport right after load and occurs once in the page. A MutationObserver in the page records
  when an element gets \`data-guardlens="flagged"\`. The endpoint's share is the time the server spent on the
  requests that carried the phrase (the first chunk and each bisection step); Guardlens' own share is the rest
  after the page's own navigation start → DOMContentLoaded.
- **Start-up and coverage.** Per page, from the first load with Guardlens: from the end of DOMContentLoaded to
  the first model request the test server received; and the words of what the baseline page shows
  (\`document.body.innerText\`, each line once, less the lines of its form controls — fields, drop-down lists,
  buttons, editable regions — which Guardlens never reads) found in the texts of that load's requests. The
  generated 5 MB conversation page (\`bench/heavy.ts\`: the Gemini conversation markup of the shared fixtures,
  repeated, with tables and shadow roots) is loaded as often, each time with an empty cache, for its first
  request.
- **Throughput.** In Node: the real scan engine with the real guard client (the \`openai\` SDK over HTTP)
  against the test server with a fixed latency L and concurrency K; ideal = K / L requests a second. Prompt
  checks go one per request; page text blocks are packed into chunks. Under rate limits, every 20th request is
  answered 429 with \`Retry-After: 1\`.
- **Bundle sizes.** Files each manifest entry point loads in \`.output/chrome-mv3\` (HTML pages with the scripts,
  styles and chunks they import), raw and gzip -9.
`;

export function markdown(r: Report): string {
  const parts = [
    '# Guardlens benchmark',
    '',
    `Run on ${r.run.date} in ${(r.run.seconds / 60).toFixed(1)} min. ${buildLine(r)}`,
    '',
    `Machine: ${machineLine(r)}.`,
    '',
    `${r.summary.pagesMeasured} of ${r.summary.pages} corpus pages measured, ${r.run.config.reps} loads each with and without Guardlens.`,
    '',
    '## Targets',
    '',
    targetsTable(r),
    '',
    '## Summary',
    '',
    summaryTable(r),
    '',
    '## Per page',
    '',
    'Medians over the loads; "tokens" and "requests" are of the first load (empty cache), "(reload)" the requests of the later loads.',
    '',
    pagesTable(r),
    '',
    '## What reloads sent',
    '',
    reloadSection(r),
    '',
    '## Content script memory',
    '',
    heapTable(r),
    '',
    '## Time to first verdict, and the whole first viewport judged',
    '',
    'DOMContentLoaded → the first flagged mark for a phrase in the viewport, and, on the same pages with nothing',
    'flagged, DOMContentLoaded → the answer that judged the last text of the first viewport (`bench/speed.ts`).',
    '',
    r.ttfv.length || r.viewport?.length ? speedTables(r) : 'Not measured in this run.',
    '',
    '## Prompt guard delay',
    '',
    r.promptGuard?.medianMs !== undefined
      ? [
          `From the person's Enter to the site's own send handler, minus the endpoint's answer time and minus what`,
          `the page takes with the guard off: median ${n(r.promptGuard.medianMs)} ms, 95th percentile`,
          `${n(r.promptGuard.p95Ms)} ms over ${r.promptGuard.samples ?? '?'} new prompts (whole send`,
          `${n(r.promptGuard.totalMedianMs)} ms, endpoint ${n(r.promptGuard.endpointMedianMs)} ms, page alone`,
          `${n(r.promptGuard.baselineMedianMs)} ms). A prompt checked before (answered from the cache) adds`,
          `${n(r.promptGuard.cachedMedianMs)} ms, p95 ${n(r.promptGuard.cachedP95Ms)} ms. Measured by`,
          '`bench/prompt-guard.ts` on the ChatGPT fixture (its captured composer served at https://chatgpt.com/),',
          'with the endpoint answering at once, on the same source tree and build as the rest of this run; its',
          'figures are under `promptGuard` in `latest.json`.',
        ].join('\n')
      : `Not measured: ${r.promptGuard?.note ?? 'no prompt guard benchmark in this run'}.`,
    '',
    `## Engine throughput (endpoint latency ${r.run.config.throughputLatencyMs} ms)`,
    '',
    r.throughput.length ? throughputTable(r) : 'Not measured in this run.',
    '',
    '## Bundle sizes',
    '',
    bundleTable(r),
    '',
    METHOD,
  ];
  return `${parts.join('\n')}\n`;
}

/** The README's "Performance" section body (without its heading). */
/** What the floor extension's figures say about the targets, as this run measured them. */
function floorLines(s: CorpusSummary): string[] {
  if (s.floorMs === undefined) return [];
  const lines = [
    'The "floor" rows come from a third Chromium with a generated extension whose content script only asks its',
    'background once, as Guardlens does on an excluded site: what Chromium charges any content script before it',
    'reads anything.',
  ];
  const facts: string[] = [];
  if (s.innerTextMs !== undefined && s.floorMs > s.innerTextMs)
    facts.push(
      `the floor alone took ${(s.floorMs / s.innerTextMs).toFixed(1)}× one \`innerText\` read, which is why the ` +
        "page-cost target is set on Guardlens' thread time above the floor",
    );
  if (s.floorFcpRatio !== undefined)
    facts.push(`it alone delayed the first contentful paint by ${pct(s.floorFcpRatio)}`);
  if (s.floorLoadRatio !== undefined)
    facts.push(`it alone delayed the load event by ${pct(s.floorLoadRatio)}`);
  if (facts.length) lines.push(`In this run ${facts.join('; ')}.`);
  return lines;
}

export function readmeSection(r: Report): string {
  const met = r.targets.filter((t) => t.met === true);
  const notMet = r.targets.filter((t) => t.met === false);
  const open = r.targets.filter((t) => t.met === null);
  const list = (items: Target[]) =>
    items.map((t) => `- ${t.what}: ${t.value}${t.met === null ? '' : ` (target ${t.target})`}.`).join('\n');
  return [
    `\`npm run bench\` loads the ${r.summary.pages} real pages of the shared corpus in headless Chromium with and without the`,
    'production build, against the local test server, and writes `bench/results/latest.json` and',
    '[`bench/results/latest.md`](bench/results/latest.md) (per-page tables, memory, time to first verdict,',
    'throughput and the method). Every figure comes with its baseline from the same run.',
    '`npm run bench:profile -- cnn lwn-1` shows where the page script spends its time (an unminified build under',
    "V8's sampling profiler, self time per function).",
    ...floorLines(r.summary),
    '',
    `Last run: ${r.run.date} (${(r.run.seconds / 60).toFixed(1)} min), ${machineLine(r)}. ${buildLine(r)}`,
    '',
    summaryTable(r),
    '',
    'Bundle sizes:',
    '',
    bundleTable(r),
    '',
    `**Met** (${met.length}):`,
    '',
    met.length ? list(met) : '- none',
    '',
    `**Not met** (${notMet.length}):`,
    '',
    notMet.length ? list(notMet) : '- none',
    '',
    ...(open.length ? ['**Reported without a target:**', '', list(open), ''] : []),
  ].join('\n');
}

/** Replaces the body of the README's "## Performance" section, up to the next "## " heading. */
export function replaceReadmeSection(readme: string, body: string): string {
  const start = readme.indexOf('\n## Performance\n');
  if (start === -1) throw new Error('The README has no "## Performance" section.');
  const bodyStart = start + '\n## Performance\n'.length;
  const next = readme.indexOf('\n## ', bodyStart);
  const end = next === -1 ? readme.length : next + 1;
  return `${readme.slice(0, bodyStart)}\n${body.trimEnd()}\n\n${readme.slice(end)}`;
}
