/**
 * Benchmark: the delay the prompt guard adds to a send, beyond the endpoint's own answer time.
 *
 *   npx tsx bench/prompt-guard.ts [--runs N] [--browsers chromium,firefox]
 *
 * Needs `npm run build`. For each browser: the built extension, the local Llama Guard test server answering at
 * once (latency 0), and the ChatGPT fixture page (its real captured composer) served at https://chatgpt.com/.
 * Each run puts a new prompt in the composer and dispatches Enter in the page; the page records when its own send
 * handler ran. Three series:
 * - `baseline`: the guard off (promptGuard "off"): what the page's send costs without Guardlens;
 * - `fresh`: a new prompt each time: Enter → the guard asks the background → the engine asks the endpoint → the
 *   verdict comes back → the send is replayed. `endpointMs` is the test server's own time for the request
 *   (received → answered); `addedMs` = total − endpoint − baseline median is what the guard adds;
 * - `cached`: a prompt checked before (the verdict comes from the cache; no request at all).
 *
 * Prints median and p95 of each and writes `bench/results/prompt-guard.json`. Not a test: nothing fails on a
 * number; the target is a few tens of milliseconds at most.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixture, fixtureHosts, serveFixtures } from '../test/e2e/chatbots/fixtures';
import { configureGuard, insertText, settingsFor } from '../test/e2e/chatbots/helpers';
import {
  type BrowserName,
  type GuardlensBrowser,
  launchBrowser,
  type PageHandle,
  requireBuild,
} from '../test/e2e/harness';
import { startSiteServer } from '../test/e2e/harness/sites';
import { startGuardServer } from '../test/server/guard-server';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const RESULTS = path.join(HERE, 'results', 'prompt-guard.json');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * p;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

function summary(values: number[]) {
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    n: values.length,
    median: round(percentile(values, 0.5)),
    p95: round(percentile(values, 0.95)),
    min: round(Math.min(...values)),
    max: round(Math.max(...values)),
  };
}

/** Puts `text` in the composer, presses Enter in the page, and returns ms from the key to the page's send. */
async function timedSend(page: PageHandle, composer: string, text: string): Promise<number> {
  await insertText(page, composer, text);
  const before = await page.evaluate(() => (window as unknown as { __sent: unknown[] }).__sent.length);
  const start = await page.evaluate((sel: string) => {
    const t0 = performance.now();
    document.querySelector(sel)!.dispatchEvent(
      new KeyboardEvent('keydown', {
        key: 'Enter',
        code: 'Enter',
        keyCode: 13,
        bubbles: true,
        cancelable: true,
        composed: true,
      }),
    );
    return t0;
  }, composer);
  const sentAt = await page.waitForFunction(
    (n: number) => {
      const w = window as unknown as { __sent: Array<{ at: number }>; __busy: boolean };
      return w.__sent.length > n && !w.__busy && w.__sent[n]!.at;
    },
    { timeoutMs: 20_000, intervalMs: 20, message: 'the page to send' },
    before,
  );
  return sentAt - start;
}

async function benchBrowser(name: BrowserName, runs: number) {
  requireBuild(name);
  const guard = await startGuardServer({ latencyMs: 0, preloadTokenizer: true });
  const f = fixture('chatgpt');
  const sites = await startSiteServer(fixtureHosts([f]));
  serveFixtures(sites, [f]);
  let gl: GuardlensBrowser | undefined;
  try {
    gl = await launchBrowser(name, { siteTunnel: sites.tunnel });
    const page = await gl.openPage(f.url);

    await configureGuard(gl, settingsFor(guard, { promptGuard: 'off' }), f.url);
    await page.goto(f.url);
    const baseline: number[] = [];
    for (let i = 0; i < runs; i++) baseline.push(await timedSend(page, f.composer, `baseline prompt ${i}`));

    await configureGuard(gl, settingsFor(guard), f.url);
    await page.goto(f.url);
    for (let i = 0; i < 3; i++) await timedSend(page, f.composer, `warm-up prompt ${i}`);
    const fresh: Array<{ total: number; endpoint: number }> = [];
    for (let i = 0; i < runs; i++) {
      const text = `a new prompt about widgets number ${i} ${Date.now()}`;
      guard.reset();
      const total = await timedSend(page, f.composer, text);
      const request = guard.requests.find((r) => r.role === 'User' && r.text?.includes(`number ${i} `));
      if (!request?.answeredAt) throw new Error(`the endpoint never answered the check of run ${i}`);
      fresh.push({ total, endpoint: request.answeredAt - request.receivedAt });
    }
    const cached: number[] = [];
    for (let i = 0; i < runs; i++) {
      guard.reset();
      cached.push(await timedSend(page, f.composer, `warm-up prompt ${i % 3}`));
      if (guard.requests.some((r) => r.role === 'User'))
        throw new Error('a cached prompt reached the endpoint');
    }
    const base = percentile(baseline, 0.5);
    return {
      browser: name,
      baselineMs: summary(baseline),
      fresh: {
        totalMs: summary(fresh.map((r) => r.total)),
        endpointMs: summary(fresh.map((r) => r.endpoint)),
        addedMs: summary(fresh.map((r) => r.total - r.endpoint - base)),
      },
      cached: { totalMs: summary(cached), addedMs: summary(cached.map((t) => t - base)) },
    };
  } finally {
    await gl?.close();
    await sites.close();
    await guard.close();
  }
}

async function main() {
  const runs = Number(arg('runs', '40'));
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive whole number');
  const browsers = arg('browsers', 'chromium,firefox')
    .split(',')
    .map((b) => b.trim()) as BrowserName[];
  for (const b of browsers) if (b !== 'chromium' && b !== 'firefox') throw new Error(`unknown browser ${b}`);
  const results = [];
  for (const b of browsers) {
    const r = await benchBrowser(b, runs);
    results.push(r);
    console.log(
      `${b}: guard adds median ${r.fresh.addedMs.median} ms, p95 ${r.fresh.addedMs.p95} ms to a send ` +
        `(total ${r.fresh.totalMs.median}/${r.fresh.totalMs.p95} ms, endpoint ${r.fresh.endpointMs.median}/` +
        `${r.fresh.endpointMs.p95} ms); from the cache: median ${r.cached.addedMs.median} ms, p95 ` +
        `${r.cached.addedMs.p95} ms; the page alone: ${r.baselineMs.median} ms (${runs} runs each)`,
    );
  }
  mkdirSync(path.dirname(RESULTS), { recursive: true });
  writeFileSync(
    RESULTS,
    `${JSON.stringify({ benchmark: 'prompt-guard', date: new Date().toISOString(), runs, results }, null, 2)}\n`,
  );
  console.log(`written ${path.relative(process.cwd(), RESULTS)}`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
