/**
 * Smoke test, in both browsers: the built extension loads, takes its settings, reads a local page, asks
 * the local Llama Guard test server about it with the configured key, and records the flagged category
 * for the tab, without reaching for anything but loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuardServer, startGuardServer } from '../server/guard-server';
import {
  BROWSER_NAMES,
  type GuardlensBrowser,
  launchBrowser,
  requireBuild,
  type StaticServer,
  startStaticServer,
} from './harness';

const SETTINGS = {
  provider: 'custom',
  model: 'llama-guard-test',
  guardModel: 'llama-guard-3-8b',
  requestMode: 'chat',
};
const API_KEY = 'test-key';

/** What the extension had in storage and said on the console, for a failure message. */
async function diagnostics(gl: GuardlensBrowser, tabId: number): Promise<string> {
  const storage = await gl
    .extensionEval(() =>
      Promise.all([browser.storage.local.get(null), browser.storage.session.get(null)]).then(
        ([local, session]) => ({
          local: { ...local, apiKey: local.apiKey ? '(set)' : '(unset)' },
          session,
        }),
      ),
    )
    .catch((error: unknown) => `unreadable: ${String(error)}`);
  const log = gl.consoleLog
    .slice(-30)
    .map((e) => `  [${e.type}] ${e.text.slice(0, 300)}${e.url ? ` (${e.url})` : ''}`)
    .join('\n');
  return [
    `Tab ${tabId} state: ${JSON.stringify(await gl.tabState(tabId).catch(() => 'unreadable'))}`,
    `Extension storage: ${JSON.stringify(storage)}`,
    `Console (last 30):\n${log || '  (nothing)'}`,
  ].join('\n');
}

describe.each(BROWSER_NAMES)('smoke: %s', (name) => {
  let guard: GuardServer;
  let site: StaticServer;
  let gl: GuardlensBrowser;

  beforeAll(async () => {
    requireBuild(name);
    guard = await startGuardServer();
    site = await startStaticServer();
    gl = await launchBrowser(name);
  });

  afterAll(async () => {
    await gl?.close();
    await site?.close();
    await guard?.close();
  });

  it('loads the extension: its options page opens and settings round-trip through storage', async () => {
    const options = await gl.openExtensionPage('/options.html');
    try {
      expect(await options.url()).toBe(`${gl.extensionOrigin}/options.html`);
      const runtimeId = await options.waitForFunction(
        () => document.readyState === 'complete' && browser.runtime.id,
      );
      expect(runtimeId).toBe(gl.extensionId);
    } finally {
      await options.close();
    }

    await gl.configure({ ...SETTINGS, baseUrl: guard.baseUrl }, API_KEY);
    const stored = await gl.extensionEval(() => browser.storage.local.get(['settings', 'apiKey']));
    expect(stored).toEqual({ settings: { ...SETTINGS, baseUrl: guard.baseUrl }, apiKey: API_KEY });
  });

  it('flags the trigger paragraph with S1 through the configured endpoint', async () => {
    guard.reset();
    await gl.configure({ ...SETTINGS, baseUrl: guard.baseUrl }, API_KEY);
    const page = await gl.openPage(site.url('/smoke.html'));
    try {
      const tabId = await page.tabId();

      await guard.waitForRequests(1, 30_000).catch(async (error: Error) => {
        throw new Error(`${error.message}\n${await diagnostics(gl, tabId)}`);
      });
      const first = guard.requests[0]!;
      expect(first.path).toMatch(/^\/v1\/(chat\/)?completions$/);
      expect(first.headers.authorization).toBe(`Bearer ${API_KEY}`);

      const state = await gl
        .waitForTabState(tabId, (s) =>
          (s.flagged ?? []).some((f: { categories: string[] }) => f.categories.includes('S1')),
        )
        .catch(async (error: Error) => {
          throw new Error(`${error.message}\n${await diagnostics(gl, tabId)}`);
        });
      expect(state.url).toBe(site.url('/smoke.html'));
      const flagged = state.flagged.filter((f: { categories: string[] }) => f.categories.includes('S1'));
      expect(flagged.length).toBeGreaterThan(0);
      expect(flagged.some((f: { snippet: string }) => f.snippet.includes('GLTEST-S1'))).toBe(true);
      // Every request the extension made to the endpoint carried the key.
      for (const r of guard.requests.filter((r) => r.method === 'POST')) {
        expect(r.headers.authorization).toBe(`Bearer ${API_KEY}`);
      }
      // The ordinary paragraphs were not flagged.
      expect(state.flagged.every((f: { snippet: string }) => !f.snippet.includes('The park opens'))).toBe(
        true,
      );
    } finally {
      await page.close();
    }
  });

  it('reached for nothing but loopback (apart from known browser noise)', () => {
    expect(gl.unexpectedBlocked()).toEqual([]);
    expect(gl.blocked.some((r) => r.origin?.startsWith(gl.extensionOrigin))).toBe(false);
  });
});
