/**
 * `npm run bench`: what Guardlens costs a page, a person's wallet and a send, each figure measured against its
 * baseline in the same run. A benchmark, not a test: it reports and never fails on a figure.
 *
 * ```sh
 * npm run bench                          # build the working tree, measure everything (~10 min)
 * npm run bench -- --build=head          # build the committed HEAD in a temporary copy instead
 * npm run bench -- --build=existing      # measure .output/chrome-mv3 as it is
 * npm run bench -- --pages=cnn,wikipedia --reps=2 --skip=throughput
 * npm run bench -- --readme              # also rewrite the README's "Performance" section
 * ```
 *
 * Other options: `--ttfv-pages=N` (10), `--ttfv-latency=MS,MS` (250,1000: the time to first verdict and the time
 * until the first viewport is judged, at each endpoint latency), `--heap-pages=N` (8), `--throughput-latency=MS`
 * (100), `--throughput-seconds=S` (3), `--prompt-guard-runs=N` (30), `--profiler` (add V8's sampling profiler to the traces), `--skip=` any of
 * `pages,floor,ttfv,viewport,halving,heavy,prompt-guard,throughput` (`halving`: the corpus loaded once more under the
 * old scheduling strategy, for its tokens beside the new one's; see `speed.ts`), `--out=DIR` (bench/results).
 * Writes `latest.json` and `latest.md` in the output directory. See `report.ts` for the method.
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type GuardlensBrowser, launchBrowser, REPO_ROOT, startStaticServer } from '../test/e2e/harness';
import { startGuardServer } from '../test/server/guard-server';
import { type BaselineBrowser, type BuildSource, buildExtension, launchBaseline } from './browsers';
import { bundleSizes } from './bundle';
import { type FloorBrowser, launchFloor } from './floor';
import { type HeavyRun, runHeavyPass } from './heavy';
import { type PageRun, runPagePass } from './page-pass';
import { CORPUS_DIR, listCorpus } from './pages';
import { markdown, type Report, readmeSection, replaceReadmeSection } from './report';
import { type HalvingRun, runHalvingTokens, runViewportPass, type ViewportRun } from './speed';
import { corpusSummary, type PromptGuardFigures, pageFigures, speedSummary, targets } from './summary';
import { runThroughput, type ThroughputRun } from './throughput';
import { runTtfvPass, type TtfvRun } from './ttfv';

const API_KEY = 'bench-key';

interface Options {
  pages?: string[];
  reps: number;
  build: BuildSource;
  ttfvPages: number;
  ttfvLatencyMs: number[];
  heapPages: number;
  throughputLatencyMs: number;
  throughputSeconds: number;
  promptGuardRuns: number;
  profiler: boolean;
  skip: Set<string>;
  readme: boolean;
  out: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    reps: 3,
    build: 'worktree',
    ttfvPages: 10,
    ttfvLatencyMs: [250, 1000],
    heapPages: 8,
    throughputLatencyMs: 100,
    throughputSeconds: 3,
    promptGuardRuns: 30,
    profiler: false,
    skip: new Set(),
    readme: false,
    out: path.join(REPO_ROOT, 'bench/results'),
  };
  for (const arg of argv) {
    const [key, value = ''] = arg.replace(/^--/, '').split('=', 2) as [string, string?];
    const num = () => {
      const v = Number(value);
      if (!Number.isFinite(v) || v <= 0) throw new Error(`--${key} needs a positive number`);
      return v;
    };
    if (key === 'pages') o.pages = value.split(',').filter(Boolean);
    else if (key === 'reps') o.reps = Math.round(num());
    else if (key === 'build') {
      if (!['worktree', 'head', 'existing'].includes(value))
        throw new Error('--build=worktree|head|existing');
      o.build = value as BuildSource;
    } else if (key === 'no-build') o.build = 'existing';
    else if (key === 'ttfv-pages') o.ttfvPages = Math.round(num());
    else if (key === 'ttfv-latency') {
      o.ttfvLatencyMs = value.split(',').map(Number);
      if (!o.ttfvLatencyMs.every((v) => Number.isFinite(v) && v > 0))
        throw new Error('--ttfv-latency needs positive numbers (ms), comma-separated');
    } else if (key === 'heap-pages') o.heapPages = Math.round(num());
    else if (key === 'throughput-latency') o.throughputLatencyMs = num();
    else if (key === 'throughput-seconds') o.throughputSeconds = num();
    else if (key === 'prompt-guard-runs') o.promptGuardRuns = Math.round(num());
    else if (key === 'profiler') o.profiler = true;
    else if (key === 'skip') for (const s of value.split(',')) o.skip.add(s);
    else if (key === 'readme') o.readme = true;
    else if (key === 'out') o.out = path.resolve(value);
    else throw new Error(`Unknown option ${arg} (see the comment at the top of bench/run.ts)`);
  }
  return o;
}

const t0 = Date.now();
function log(line: string): void {
  const s = ((Date.now() - t0) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${s}s] ${line}\n`);
}

/** Pages spread over the corpus (every k-th), at most `count`. */
function spread<T>(items: T[], count: number): T[] {
  if (items.length <= count) return items;
  const step = items.length / count;
  return Array.from({ length: count }, (_, i) => items[Math.floor(i * step)]!);
}

/** One page through the extension first, so the first measured page does not pay for its worker starting. */
async function warmUp(
  gl: GuardlensBrowser,
  guard: Awaited<ReturnType<typeof startGuardServer>>,
  site: Awaited<ReturnType<typeof startStaticServer>>,
): Promise<void> {
  site.route('/warm-up.html', {
    body: '<!doctype html><title>Warm-up</title><p>The Guardlens benchmark warms up the extension with this page.</p>',
  });
  const before = guard.requests.length;
  const page = await gl.openPage(site.url('/warm-up.html'));
  try {
    await guard.waitForRequests(before + 1, 30_000);
  } catch {
    log('Note: the warm-up page sent no request to the test server within 30 s');
  } finally {
    await page.close();
  }
}

/**
 * The prompt guard's own benchmark (`bench/prompt-guard.ts`, written with the prompt guard), when it exists: run
 * as its own process in Chromium after this runner's browsers are closed; its results file is read back.
 */
async function promptGuardFigures(runs: number, tree: string): Promise<PromptGuardFigures> {
  const script = path.join(tree, 'bench/prompt-guard.ts');
  if (!existsSync(script))
    return { note: 'the prompt guard benchmark (`bench/prompt-guard.ts`) has not landed yet' };
  const results = path.join(tree, 'bench/results/prompt-guard.json');
  const started = Date.now();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn('npx', ['tsx', script, '--runs', String(runs), '--browsers', 'chromium'], {
      cwd: tree,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('close', (exit) => {
      for (const line of output.split('\n')) if (line.trim() && !/npm warn/i.test(line)) log(`  | ${line}`);
      resolve(exit);
    });
  });
  if (code !== 0) return { note: `\`bench/prompt-guard.ts\` exited with ${code}` };
  if (!existsSync(results) || statSync(results).mtimeMs < started) {
    return { note: '`bench/prompt-guard.ts` wrote no `bench/results/prompt-guard.json`' };
  }
  type Summary = { n?: number; median?: number; p95?: number };
  const data = JSON.parse(await readFile(results, 'utf8')) as {
    results?: Array<{
      browser?: string;
      baselineMs?: Summary;
      fresh?: { totalMs?: Summary; endpointMs?: Summary; addedMs?: Summary };
      cached?: { addedMs?: Summary };
    }>;
  };
  const chromium = data.results?.find((r) => r.browser === 'chromium');
  if (chromium?.fresh?.addedMs?.median === undefined) {
    return { note: '`bench/results/prompt-guard.json` has no Chromium figures in the expected shape' };
  }
  return {
    medianMs: chromium.fresh.addedMs.median,
    p95Ms: chromium.fresh.addedMs.p95,
    samples: chromium.fresh.addedMs.n,
    totalMedianMs: chromium.fresh.totalMs?.median,
    endpointMedianMs: chromium.fresh.endpointMs?.median,
    baselineMedianMs: chromium.baselineMs?.median,
    cachedMedianMs: chromium.cached?.addedMs?.median,
    cachedP95Ms: chromium.cached?.addedMs?.p95,
    raw: chromium,
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const loadAverageStart = os.loadavg();
  const corpus = listCorpus(CORPUS_DIR);
  if (corpus.length === 0) throw new Error(`No corpus pages in ${CORPUS_DIR}`);
  const pages = o.pages ? corpus.filter((p) => o.pages!.includes(p.name)) : corpus;
  if (o.pages && pages.length !== o.pages.length) {
    const missing = o.pages.filter((name) => !corpus.some((p) => p.name === name));
    throw new Error(`Unknown corpus pages: ${missing.join(', ')}`);
  }
  const build = await buildExtension(o.build, log);
  const heapPages = new Set(
    [...pages]
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, o.heapPages)
      .map((p) => p.name),
  );

  const guard = await startGuardServer({ preloadTokenizer: true, apiKey: API_KEY });
  const site = await startStaticServer({ root: null });
  site.mount('/corpus/', CORPUS_DIR);
  let gl: GuardlensBrowser | undefined;
  let base: BaselineBrowser | undefined;
  let floor: FloorBrowser | undefined;
  let runs: PageRun[] = [];
  let ttfv: TtfvRun[] = [];
  const ttfvAll: TtfvRun[] = [];
  const viewport: ViewportRun[] = [];
  let halving: HalvingRun[] = [];
  let heavy: HeavyRun | undefined;
  let promptGuard: PromptGuardFigures | undefined;
  let throughput: ThroughputRun[] = [];
  let chromiumVersion = 'unknown';
  const settings = {
    provider: 'custom',
    baseUrl: guard.baseUrl,
    model: 'bench',
    guardModel: 'llama-guard-4-12b',
    requestMode: 'chat',
  };
  try {
    gl = await launchBrowser('chromium', { extensionPath: build.dir });
    base = await launchBaseline();
    if (!o.skip.has('floor')) floor = await launchFloor();
    chromiumVersion = base.context.browser()?.version() ?? chromiumVersion;
    await gl.configure(settings, API_KEY);
    await warmUp(gl, guard, site);
    if (!o.skip.has('pages')) {
      log(`Page pass: ${pages.length} pages × ${o.reps} loads with and without Guardlens`);
      runs = await runPagePass({
        gl,
        base,
        floor,
        guard,
        site,
        pages,
        reps: o.reps,
        heapPages,
        settings,
        apiKey: API_KEY,
        profiler: o.profiler,
        log,
      });
    }
    if (!o.skip.has('halving') && runs.length) {
      log(`Tokens under the old strategy (halving): ${runs.length} pages, one load each`);
      halving = await runHalvingTokens({
        gl,
        guard,
        site,
        pages: runs.filter((r) => !r.error).map((r) => r.name),
        settings,
        apiKey: API_KEY,
        log,
      });
    }
    const candidates = runs
      .filter((r) => r.phrase && !r.error)
      .map((r) => ({ name: r.name, phrase: r.phrase! }));
    const chosen = spread(candidates, o.ttfvPages);
    for (const latencyMs of o.ttfvLatencyMs) {
      if (!o.skip.has('ttfv')) {
        log(`Time to first verdict: ${chosen.length} pages, endpoint answering in ${latencyMs} ms`);
        const these = await runTtfvPass({
          gl,
          guard,
          site,
          pages: chosen,
          latencyMs,
          settings,
          apiKey: API_KEY,
          log,
        });
        ttfvAll.push(...these);
        if (latencyMs === o.ttfvLatencyMs[0]) ttfv = these;
      }
      if (!o.skip.has('viewport')) {
        log(
          `Whole first viewport judged, nothing flagged: ${chosen.length} pages, endpoint answering in ${latencyMs} ms`,
        );
        viewport.push(
          ...(await runViewportPass({
            gl,
            guard,
            site,
            pages: chosen.map((c) => c.name),
            latencyMs,
            settings,
            apiKey: API_KEY,
            log,
          })),
        );
      }
    }
    if (!o.skip.has('heavy')) {
      log('Start-up on a generated 5 MB conversation page');
      heavy = await runHeavyPass({ gl, guard, site, settings, apiKey: API_KEY, loads: o.reps, log });
    }
    const unexpected = gl.unexpectedBlocked().filter((r) => r.origin?.startsWith(gl!.extensionOrigin));
    if (unexpected.length) log(`Note: the extension tried to reach ${unexpected.length} non-loopback URLs`);
  } finally {
    await gl?.close().catch(() => {});
    await base?.close().catch(() => {});
    await floor?.close().catch(() => {});
    await site.close();
    await guard.close();
  }
  if (!o.skip.has('prompt-guard')) {
    log('Prompt guard delay (bench/prompt-guard.ts)');
    promptGuard = await promptGuardFigures(o.promptGuardRuns, build.tree).catch((error: unknown) => ({
      note: `the prompt guard benchmark failed: ${String(error).split('\n')[0]}`,
    }));
    log(
      promptGuard.medianMs !== undefined
        ? `  adds median ${promptGuard.medianMs} ms, p95 ${promptGuard.p95Ms} ms`
        : `  ${promptGuard.note}`,
    );
  }
  if (!o.skip.has('throughput')) {
    log(`Engine throughput: endpoint latency ${o.throughputLatencyMs} ms`);
    throughput = await runThroughput({
      latencyMs: o.throughputLatencyMs,
      concurrencies: [1, 4, 8],
      idealSeconds: o.throughputSeconds,
      log,
    });
  }
  const bundle = bundleSizes(build.dir);
  await build.remove();

  const figures = runs.map(pageFigures);
  const summary = corpusSummary(figures, ttfv, heavy);
  const speed = speedSummary(o.ttfvLatencyMs, ttfvAll, viewport, halving, figures);
  const report: Report = {
    machine: {
      cpu: os.cpus()[0]?.model ?? 'unknown CPU',
      cores: os.cpus().length,
      memoryGb: os.totalmem() / 1024 ** 3,
      os: `${os.type()} ${os.release()}`,
      node: process.version,
      chromium: chromiumVersion,
      loadAverageStart,
      loadAverageEnd: os.loadavg(),
    },
    run: {
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      seconds: (Date.now() - t0) / 1000,
      build: { source: build.source, commit: build.commit, uncommitted: build.uncommitted },
      config: {
        reps: o.reps,
        pages: pages.length,
        ttfvLatencyMs: o.ttfvLatencyMs[0]!,
        ttfvLatenciesMs: o.ttfvLatencyMs,
        throughputLatencyMs: o.throughputLatencyMs,
        settings: { ...settings, baseUrl: '(local test server)', model: '(one per page)' },
        profiler: o.profiler,
      },
    },
    summary,
    speed,
    targets: targets(summary, promptGuard, throughput, speed),
    pages: figures,
    ttfv,
    ttfvAll,
    viewport,
    halving,
    heavy,
    promptGuard,
    throughput,
    bundle,
  };
  await mkdir(o.out, { recursive: true });
  await writeFile(path.join(o.out, 'latest.json'), `${JSON.stringify({ ...report, raw: runs }, null, 1)}\n`);
  await writeFile(path.join(o.out, 'latest.md'), markdown(report));
  if (o.readme) {
    const file = path.join(REPO_ROOT, 'README.md');
    await writeFile(file, replaceReadmeSection(await readFile(file, 'utf8'), readmeSection(report)));
    log('README "Performance" section updated');
  }
  log(`Wrote ${path.relative(REPO_ROOT, path.join(o.out, 'latest.md'))} and latest.json`);
  for (const t of report.targets) {
    log(`  ${t.met === null ? '—' : t.met ? 'met    ' : 'NOT met'}  ${t.what}: ${t.value}`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
