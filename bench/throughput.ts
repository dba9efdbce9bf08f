/**
 * Engine throughput in Node: the real scan engine (`lib/engine/scheduler.ts`) with the real guard client
 * (`lib/guard/client.ts`, the `openai` SDK over HTTP) against the local test server answering in a fixed time.
 * With concurrency K and latency L the ideal is K / L requests a second; the achieved rate shows what the
 * engine, the client and the server's own work add. Then the same under rate limits: every Nth request is
 * answered 429 with `Retry-After`.
 */
import { MemoryVerdictStore, VerdictCache } from '../lib/engine/cache';
import { ScanEngine } from '../lib/engine/scheduler';
import type { Classify } from '../lib/engine/types';
import { MemoryStateStore } from '../lib/engine/types';
import { createGuardClient } from '../lib/guard/client';
import { type GuardServer, startGuardServer } from '../test/server/guard-server';
import { isModelRequest } from './tokens';

export interface ThroughputRun {
  label: string;
  kind: 'prompt' | 'page-text';
  concurrency: number;
  latencyMs: number;
  items: number;
  requests: number;
  /** Answered 429 by the test server. */
  rateLimited: number;
  /** Items that ended in an error instead of a verdict. */
  failed: number;
  seconds: number;
  itemsPerSecond: number;
  requestsPerSecond: number;
  /** K / L. */
  idealRequestsPerSecond: number;
  /** requestsPerSecond / ideal. */
  efficiency: number;
  /** Seconds of `Retry-After` the endpoint asked for (429 runs). */
  retryAfterSeconds?: number;
}

const API_KEY = 'bench-key';

function classifierFor(guard: GuardServer): Classify {
  const client = createGuardClient({
    baseUrl: guard.baseUrl,
    apiKey: API_KEY,
    model: 'llama-guard-test',
    guardModel: 'llama-guard-4-12b',
    mode: 'chat',
  });
  return (turns, signal) => client.classify(turns, signal ? { signal } : undefined);
}

async function newEngine(guard: GuardServer, concurrency: number): Promise<ScanEngine> {
  const engine = new ScanEngine({
    classify: classifierFor(guard),
    fingerprint: `bench-throughput-${concurrency}`,
    cache: new VerdictCache(new MemoryVerdictStore()),
    stateStore: new MemoryStateStore(),
    concurrency,
  });
  await engine.restore();
  return engine;
}

/** Distinct sentences, so no two items share a content key. */
function sentence(i: number, words = 40): string {
  const parts = [`Item ${i}:`];
  for (let w = 0; w < words; w++) parts.push(`word${(i * 7919 + w * 104729) % 100003}`);
  return `${parts.join(' ')}.`;
}

interface Scenario {
  label: string;
  kind: ThroughputRun['kind'];
  concurrency: number;
  items: number;
  /** Every this many requests, one is answered 429. */
  rateLimitEvery?: number;
  retryAfterSeconds?: number;
}

async function runScenario(latencyMs: number, s: Scenario): Promise<ThroughputRun> {
  let finished = 0;
  let guard: GuardServer | undefined;
  guard = await startGuardServer({
    latencyMs,
    apiKey: API_KEY,
    preloadTokenizer: true,
    onFinished: (r) => {
      if (!isModelRequest(r) || !s.rateLimitEvery) return;
      finished++;
      if (finished % s.rateLimitEvery === 0) {
        guard?.injectFault({ kind: 'rate-limit', retryAfterSeconds: s.retryAfterSeconds ?? 1 });
      }
    },
  });
  // One warm-up request: the tokenizer and the connection are ready before the clock starts.
  await classifierFor(guard)([{ role: 'user', text: 'warm-up' }]);
  guard.reset();
  const engine = await newEngine(guard, s.concurrency);
  let failed = 0;
  const started = performance.now();
  try {
    if (s.kind === 'prompt') {
      await Promise.all(
        Array.from({ length: s.items }, (_, i) =>
          engine
            .checkPrompt({
              tabId: 1,
              url: 'https://bench.guardlens.test/chat',
              ref: `p${i}`,
              text: sentence(i),
            })
            .catch(() => {
              failed++;
            }),
        ),
      );
    } else {
      let verdicts = 0;
      const done = new Promise<void>((resolve) => {
        engine.onVerdict(() => {
          if (++verdicts >= s.items) resolve();
        });
        engine.onItemError(() => {
          failed++;
          if (++verdicts >= s.items) resolve();
        });
      });
      const blocks = Array.from({ length: s.items }, (_, i) => ({
        ref: `b${i}`,
        text: sentence(i),
        priority: 'page' as const,
      }));
      await engine.submitBlocks(1, 0, 'https://bench.guardlens.test/page', blocks);
      await done;
    }
  } finally {
    engine.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  const model = guard.requests.filter(isModelRequest);
  const rateLimited = model.filter((r) => r.status === 429).length;
  await guard.close();
  guard = undefined;
  const requestsPerSecond = model.length / seconds;
  const ideal = s.concurrency / (latencyMs / 1000);
  return {
    label: s.label,
    kind: s.kind,
    concurrency: s.concurrency,
    latencyMs,
    items: s.items,
    requests: model.length,
    rateLimited,
    failed,
    seconds,
    itemsPerSecond: s.items / seconds,
    requestsPerSecond,
    idealRequestsPerSecond: ideal,
    efficiency: requestsPerSecond / ideal,
    ...(s.rateLimitEvery ? { retryAfterSeconds: rateLimited * (s.retryAfterSeconds ?? 1) } : {}),
  };
}

export interface ThroughputOptions {
  latencyMs: number;
  concurrencies: number[];
  /** Seconds each run would take at the ideal rate. */
  idealSeconds: number;
  log: (line: string) => void;
}

export async function runThroughput(o: ThroughputOptions): Promise<ThroughputRun[]> {
  const perSecond = (k: number) => k / (o.latencyMs / 1000);
  const scenarios: Scenario[] = o.concurrencies.map((k) => ({
    label: `prompts, K=${k}`,
    kind: 'prompt',
    concurrency: k,
    items: Math.round(perSecond(k) * o.idealSeconds),
  }));
  const k = o.concurrencies.includes(4) ? 4 : o.concurrencies[o.concurrencies.length - 1]!;
  scenarios.push({
    label: `prompts, K=${k}, every 20th request 429 (Retry-After 1 s)`,
    kind: 'prompt',
    concurrency: k,
    items: Math.round(perSecond(k) * o.idealSeconds),
    rateLimitEvery: 20,
    retryAfterSeconds: 1,
  });
  scenarios.push({
    label: `page text blocks, K=${k}`,
    kind: 'page-text',
    concurrency: k,
    items: Math.round(perSecond(k) * o.idealSeconds) * 10,
  });
  const runs: ThroughputRun[] = [];
  for (const scenario of scenarios) {
    const run = await runScenario(o.latencyMs, scenario);
    runs.push(run);
    o.log(
      `  ${run.label}: ${run.items} items, ${run.requests} requests in ${run.seconds.toFixed(2)} s → ` +
        `${run.requestsPerSecond.toFixed(1)} req/s of ideal ${run.idealRequestsPerSecond.toFixed(1)} ` +
        `(${(run.efficiency * 100).toFixed(0)}%)${run.failed ? `, ${run.failed} failed` : ''}`,
    );
  }
  return runs;
}
