/**
 * Shared pieces of the privacy tests: the endpoint settings, a page whose text is new on every visit (so a
 * verdict cache can never stand in for a request that was not made), and the check that a page made the
 * extension send nothing.
 */
import type http from 'node:http';
import { expect } from 'vitest';
import type { GuardServer } from '../../server/guard-server';
import { type GuardlensBrowser, type StaticServer, waitFor } from '../harness';
import { tabMessage } from '../page/helpers';

export const SETTINGS = {
  provider: 'custom',
  model: 'llama-guard-4-12b',
  guardModel: 'llama-guard-4-12b',
  requestMode: 'chat',
};

export function settingsFor(
  guard: GuardServer,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { ...SETTINGS, baseUrl: guard.baseUrl, ...extra };
}

let visits = 0;

/** Serves `/privacy-page?n=…`: a benign paragraph and a `GLTEST-S1` paragraph, both carrying `n`. */
export function routePrivacyPage(site: StaticServer): void {
  site.route('/privacy-page', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const n = new URL(req.url ?? '/', 'http://x').searchParams.get('n') ?? '0';
    const safe = n.replace(/[^\w-]/g, '');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Field notes ${safe}</title></head>` +
        `<body><main><h1>Field notes ${safe}</h1>` +
        `<p>Tomatoes like warm soil and a little shade in the afternoon, note ${safe}.</p>` +
        `<p id="trigger">GLTEST-S1 this paragraph carries the test trigger, note ${safe}.</p>` +
        `</main></body></html>`,
    );
  });
}

/** A fresh URL of the privacy page on `origin` (another host name of the same server works too). */
export function privacyPageUrl(site: StaticServer, origin = site.origin): string {
  visits += 1;
  return `${origin}/privacy-page?n=${Date.now().toString(36)}-${visits}`;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long a page gets to (wrongly) send something before a test says it sent nothing. */
export const QUIET_MS = 2000;

/**
 * Waits until the content script in `tabId` has its answer from the background, and returns why it is
 * inactive (`undefined` when it is active, which then also starts a scan, so a wrong answer shows).
 */
export async function inactiveReasonOf(gl: GuardlensBrowser, tabId: number): Promise<string | undefined> {
  const answer = await waitFor(
    async () => {
      const a = await tabMessage<{ started: boolean; reason?: string }>(gl, tabId, 'page:rescan').catch(
        () => undefined,
      );
      // 'disabled' is also what the content script says before the background answered its hello.
      return a && (a.started || a.reason !== 'disabled') ? a : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 200, message: `the content script in tab ${tabId} to get its answer` },
  );
  return answer.started ? undefined : answer.reason;
}

/** Asserts that nothing reached the endpoint since `from` and nothing unexpected reached the blocker. */
export function expectNothingSent(
  gl: GuardlensBrowser,
  guard: GuardServer,
  from: number,
  what: string,
): void {
  const sent = guard.requests.slice(from).map((r) => `${r.method} ${r.path} ${r.text ?? ''}`);
  expect(sent, `requests to the endpoint from ${what}`).toEqual([]);
  expect(gl.unexpectedBlocked(), `non-loopback requests while on ${what}`).toEqual([]);
}
