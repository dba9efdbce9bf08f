/**
 * Start-up on a heavy page: a generated conversation of about 5 MB of markup (the real Gemini conversation markup
 * of the shared fixtures, repeated, with tables and open shadow roots; `test/e2e/chatbots/heavy-page.ts`), served
 * from loopback so only the page script runs on it. Loaded a few times with Guardlens, each with an empty verdict
 * cache: from DOMContentLoaded to the first model request the endpoint received.
 */

import { GEMINI_COMPOSER, GEMINI_CONFIG } from '../test/e2e/chatbots/fixtures';
import { heavyGeminiHtml } from '../test/e2e/chatbots/heavy-page';
import type { GuardlensBrowser, StaticServer } from '../test/e2e/harness';
import type { GuardServer } from '../test/server/guard-server';
import { freshCache } from './page-pass';
import { median } from './stats';
import { isModelRequest } from './tokens';

export interface HeavyRun {
  bytes: number;
  loads: number;
  /** DOMContentLoaded end → the first model request, per load (ms). */
  firstRequestMs: number[];
  dclMs: number[];
  medianFirstRequestMs?: number;
  error?: string;
}

export async function runHeavyPass(o: {
  gl: GuardlensBrowser;
  guard: GuardServer;
  site: StaticServer;
  settings: Record<string, unknown>;
  apiKey: string;
  loads: number;
  log: (line: string) => void;
}): Promise<HeavyRun> {
  const html = heavyGeminiHtml({
    targetBytes: 5_000_000,
    composer: GEMINI_COMPOSER,
    config: GEMINI_CONFIG,
    script: '',
  });
  o.site.route('/generated/conversation-5mb.html', { body: html });
  const run: HeavyRun = { bytes: Buffer.byteLength(html), loads: 0, firstRequestMs: [], dclMs: [] };
  const ctx = o.gl.chromium!.context;
  try {
    for (let i = 0; i < o.loads; i++) {
      await freshCache(o.gl, { ...o.settings, model: `bench-heavy-${i}` }, o.apiKey);
      const from = o.guard.requests.length;
      const page = await ctx.newPage();
      try {
        await page.goto(o.site.url('/generated/conversation-5mb.html'), {
          waitUntil: 'domcontentloaded',
          timeout: 60_000,
        });
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline && !o.guard.requests.slice(from).some(isModelRequest))
          await new Promise((r) => setTimeout(r, 20));
        const first = o.guard.requests.slice(from).find(isModelRequest);
        const t = (await page.evaluate(`(() => {
          const n = performance.getEntriesByType('navigation')[0];
          return { origin: performance.timeOrigin, dcl: n ? n.domContentLoadedEventEnd : 0 };
        })()`)) as { origin: number; dcl: number };
        run.loads++;
        run.dclMs.push(t.dcl);
        if (first) run.firstRequestMs.push(first.receivedAt - (t.origin + t.dcl));
      } finally {
        await page.close().catch(() => {});
      }
    }
  } catch (error) {
    run.error = error instanceof Error ? error.message.split('\n')[0] : String(error);
  }
  run.medianFirstRequestMs = median(run.firstRequestMs);
  o.log(
    `  ${(run.bytes / 1e6).toFixed(1)} MB page, ${run.loads} loads: first request ${run.firstRequestMs.map((v) => v.toFixed(0)).join(', ')} ms after DOMContentLoaded` +
      (run.error ? ` — error: ${run.error}` : ''),
  );
  return run;
}
