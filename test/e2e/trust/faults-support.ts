/**
 * What the endpoint fault matrix (`faults.e2e.ts`) shares: the faults themselves, short timings, and the reading
 * of what the person sees (the popup's text) and what the test server served (attempts, gaps, billable answers).
 */
import type { Fault, GuardServer, RecordedRequest } from '../../server/guard-server';
import type { Para } from '../engine/pages';
import type { GuardlensBrowser, PageHandle } from '../harness';
import { waitFor } from '../harness';

export const API_KEY = 'gl-e2e-faults-key-9c41d2';

/**
 * Waits the extension has no setting for, shortened (`engineTuning`, read by the background host) so the matrix
 * runs in minutes: 1.5 s per attempt instead of 30 s, 1 s for the circuit breaker's first wait instead of 10 s,
 * 1.5 s after a rate limit without Retry-After instead of 20 s. The code paths are the ones people run.
 */
export const TUNING = { timeoutMs: 1_500, breakerBaseBackoffMs: 1_000, rateLimitWaitMs: 1_500 };

/** One paragraph per request (no packing, no bisection: the paragraphs are ~135 tokens), two requests at once. */
export const settingsFor = (baseUrl: string, model = 'llama-guard-test') => ({
  provider: 'custom',
  baseUrl,
  model,
  guardModel: 'llama-guard-3-8b',
  requestMode: 'chat',
  chunkTokens: 200,
  concurrency: 2,
  scanImages: false,
});

export interface FaultCase {
  id: string;
  /** Makes the endpoint fail until `clear`. */
  inject(guard: GuardServer): void | Promise<void>;
  clear(guard: GuardServer): void | Promise<void>;
  /** The GuardError kind the endpoint info records. */
  kind: string;
  /** What the popup says went wrong, and the fix it offers. */
  problem: RegExp;
  fix: RegExp;
  /**
   * 'settings': the fault does not go away by itself; items wait (visibly pending, the endpoint probed with a
   * growing wait) until the person changes the endpoint settings. Default: items wait until the endpoint recovers.
   */
  recovery?: 'settings';
  /** No request reaches the server (connection refused). */
  unseen?: boolean;
}

const persistent = (fault: Fault): FaultCase['inject'] => {
  return (guard) => guard.injectFault({ ...fault, times: 100_000 } as Fault);
};
const clearFaults: FaultCase['clear'] = (guard) => guard.clearFaults();

export const FAULTS: FaultCase[] = [
  {
    id: '401',
    inject: persistent({ kind: 'status', status: 401 }),
    clear: clearFaults,
    kind: 'auth',
    problem: /answered 401/,
    fix: /did not accept the API key/,
    recovery: 'settings',
  },
  {
    id: '403',
    inject: persistent({ kind: 'status', status: 403 }),
    clear: clearFaults,
    kind: 'forbidden',
    problem: /answered 403/,
    fix: /does not allow this key/,
    recovery: 'settings',
  },
  {
    id: '404 (model)',
    inject: persistent({
      kind: 'status',
      status: 404,
      body: JSON.stringify({
        error: {
          message: 'The model `llama-guard-test` does not exist or you do not have access to it.',
          type: 'invalid_request_error',
          param: 'model',
          code: 'model_not_found',
        },
      }),
    }),
    clear: clearFaults,
    kind: 'model-not-found',
    problem: /answered 404: The model `llama-guard-test` does not exist/,
    fix: /does not serve the model/,
    recovery: 'settings',
  },
  {
    id: '413',
    inject: persistent({ kind: 'status', status: 413 }),
    clear: clearFaults,
    kind: 'too-large',
    problem: /answered 413/,
    fix: /too long/,
  },
  {
    id: '429 with Retry-After',
    inject: persistent({ kind: 'rate-limit', retryAfterSeconds: 1 }),
    clear: clearFaults,
    kind: 'rate-limited',
    problem: /answered 429/,
    fix: /rate limiting requests; wait until \d\d:\d\d:\d\d/,
  },
  {
    id: '429 without Retry-After',
    inject: persistent({ kind: 'rate-limit' }),
    clear: clearFaults,
    kind: 'rate-limited',
    problem: /answered 429/,
    fix: /rate limiting requests; wait a minute/,
  },
  ...[500, 502, 503].map(
    (status): FaultCase => ({
      id: String(status),
      inject: persistent({ kind: 'status', status }),
      clear: clearFaults,
      kind: 'server',
      problem: new RegExp(`answered ${status}`),
      fix: /had a server error; try again later/,
    }),
  ),
  {
    id: 'timeout',
    inject: persistent({ kind: 'timeout' }),
    clear: clearFaults,
    kind: 'timeout',
    problem: /did not answer within 1\.5 s/,
    fix: /slow or overloaded/,
  },
  {
    id: 'connection refused',
    inject: (guard) => guard.stopListening(),
    clear: (guard) => guard.resumeListening(),
    kind: 'unreachable',
    problem: /Could not reach/,
    fix: /Check the base URL/,
    unseen: true,
  },
  {
    id: 'body not JSON',
    inject: persistent({ kind: 'malformed-json' }),
    clear: clearFaults,
    kind: 'bad-response',
    problem: /not JSON/,
    fix: /OpenAI-compatible API/,
  },
  {
    id: 'HTML page',
    inject: persistent({ kind: 'html' }),
    clear: clearFaults,
    kind: 'bad-response',
    problem: /not JSON \(text\/html\)/,
    fix: /OpenAI-compatible API/,
  },
  {
    id: 'JSON without choices',
    inject: persistent({ kind: 'no-choices' }),
    clear: clearFaults,
    kind: 'bad-response',
    problem: /without any choices/,
    fix: /OpenAI-compatible API/,
  },
  {
    id: 'not a Llama Guard answer',
    inject: persistent({ kind: 'not-llama-guard' }),
    clear: clearFaults,
    kind: 'bad-output',
    problem: /not a Llama Guard verdict/,
    fix: /Llama Guard model/,
  },
];

export const posts = (guard: GuardServer): RecordedRequest[] =>
  guard.requests.filter((r) => r.method === 'POST');

/**
 * A completion the provider bills: answered with HTTP 200, whatever the body (an unreadable body reports no usage:
 * zero tokens). The engine counts exactly these as requests, and the usage they reported as tokens.
 */
export const billable = (r: RecordedRequest): boolean => r.status === 200 && r.answeredAt !== undefined;

/** The tokens a completion's answer reported (zero when its body could not be read). */
export const tokensOf = (r: RecordedRequest): number =>
  (r.usage?.promptTokens ?? 0) + (r.usage?.completionTokens ?? 0);

/** A completion that gave a verdict: billable, sent whole (no fault but a delay), and its answer a verdict. */
export const classified = (r: RecordedRequest): boolean =>
  billable(r) &&
  (r.fault === undefined || r.fault === 'delay') &&
  (r.output === 'safe' || r.output?.startsWith('unsafe') === true);

/** The requests carrying a paragraph's text, oldest first. */
export const attemptsOf = (guard: GuardServer, p: Para): RecordedRequest[] =>
  posts(guard).filter((r) => JSON.stringify(r.body ?? '').includes(p.text));

/** The model id in `tab:state` (the settings the background uses now). */
export async function modelInUse(gl: GuardlensBrowser): Promise<string | undefined> {
  const view = (await gl.extensionEval(() =>
    browser.runtime
      .sendMessage({ id: 1, type: 'tab:state', data: { tabId: 1 }, timestamp: Date.now() })
      .then((reply: { res?: unknown }) => reply?.res),
  )) as { endpoint?: { model?: string } } | undefined;
  return view?.endpoint?.model;
}

/** The gaps between one paragraph's consecutive attempts, in ms. */
export function gaps(attempts: readonly RecordedRequest[]): number[] {
  return attempts.slice(1).map((r, i) => r.receivedAt - attempts[i]!.receivedAt);
}

export interface DayUsageLike {
  /** The local day the usage is for (the engine starts a new one at midnight). */
  day?: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
}

/** Today's usage as the engine saved it (`storage.session`, key `engine`). */
export async function savedUsage(gl: GuardlensBrowser): Promise<DayUsageLike> {
  const snap = (await gl.extensionEval(() =>
    browser.storage.session.get('engine').then((items: Record<string, unknown>) => items.engine ?? null),
  )) as { today: DayUsageLike } | null;
  return snap?.today ?? { requests: 0, promptTokens: 0, completionTokens: 0 };
}

/**
 * The saved usage once the saved state has caught up: the engine writes it from a timer at most every 500 ms, so a
 * figure read right after an answer may still lack it. Read as a baseline, it must not.
 */
export async function settledUsage(gl: GuardlensBrowser): Promise<DayUsageLike> {
  let last = await savedUsage(gl);
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 600));
    const now = await savedUsage(gl);
    if (JSON.stringify(now) === JSON.stringify(last)) break;
    last = now;
  }
  return last;
}

/** The popup's visible text, as the person reads it. */
export function popupText(popup: PageHandle): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what the person reads.
  return popup.evaluate(() => document.body.innerText.replace(/\s+/g, ' '));
}

/** Waits until the popup's text matches every pattern; says what it showed when it does not. */
export async function waitForPopup(
  popup: PageHandle,
  patterns: RegExp[],
  timeoutMs = 15_000,
): Promise<string> {
  let last = '';
  try {
    return await waitFor(
      async () => {
        last = await popupText(popup);
        return patterns.every((p) => p.test(last)) && last;
      },
      { timeoutMs, intervalMs: 200, message: `the popup to show ${patterns.join(' and ')}` },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\nThe popup showed: ${last}`);
  }
}
