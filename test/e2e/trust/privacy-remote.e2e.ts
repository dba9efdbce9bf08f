/**
 * "Only the configured endpoint", with an endpoint that is not on loopback (Chromium; see below): the
 * endpoint is `https://guard.example.net/v1`, a real-looking HTTPS host the network blocker tunnels to a local
 * site server, which hands each request to the local test server. Everything else that is not loopback is still
 * refused and counted. After a page with a trigger is scanned, the only host the browser reached is the
 * endpoint's, the test server answered every request, and the blocker saw nothing unexpected.
 *
 * In Firefox the same endpoint without the origin permission for its site: the error says that the browser gives
 * Guardlens no access there, and how to grant it (not "could not be reached"), and nothing counts as checked.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuardServer, startGuardServer } from '../../server/guard-server';
import {
  BROWSER_NAMES,
  type GuardlensBrowser,
  launchBrowser,
  type StaticServer,
  startStaticServer,
} from '../harness';
import { type SiteServer, startSiteServer } from '../harness/sites';
import { buildDir, waitForSettled } from '../page/helpers';
import { privacyPageUrl, routePrivacyPage, SETTINGS } from './privacy-support';

const HOST = 'guard.example.net';
const API_KEY = 'sk-remote-privacy-key';

/** Serves the test server's API at `https://HOST/v1/…` by handing each request to it on loopback. */
function forwardTo(guard: GuardServer, sites: SiteServer): void {
  for (const path of ['/v1/chat/completions', '/v1/completions', '/v1/models']) {
    sites.route(
      `https://${HOST}${path}`,
      (req, res) =>
        new Promise<void>((resolve) => {
          const upstream = http.request(
            { host: '127.0.0.1', port: guard.port, path: req.url, method: req.method, headers: req.headers },
            (answer) => {
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(res);
              answer.on('end', () => resolve());
            },
          );
          upstream.on('error', () => {
            if (!res.headersSent) res.writeHead(502);
            res.end();
            resolve();
          });
          req.pipe(upstream);
        }),
    );
  }
}

// Reaching the host: Chromium only. Its page content script's `<all_urls>` match gives the background access to
// any host, while Firefox reaches a hosted endpoint through the origin permission the options page asks for in a
// click (without it, its cross-origin request stops after the preflight), which a headless run cannot grant.
// Firefox's "only the configured endpoint" is shown with a loopback endpoint in privacy.e2e.ts.
describe.each(BROWSER_NAMES)('privacy with an endpoint on the network: %s', (name) => {
  let guard: GuardServer;
  let site: StaticServer;
  let sites: SiteServer;
  let gl: GuardlensBrowser;

  beforeAll(async () => {
    [guard, site, sites] = await Promise.all([
      startGuardServer({ apiKey: API_KEY }),
      startStaticServer(),
      startSiteServer([HOST]),
    ]);
    routePrivacyPage(site);
    forwardTo(guard, sites);
    gl = await launchBrowser(name, { extensionPath: buildDir(name), siteTunnel: sites.tunnel });
    await gl.configure({ ...SETTINGS, baseUrl: `https://${HOST}/v1` }, API_KEY);
  });

  afterAll(async () => {
    await gl?.close();
    await Promise.all([site?.close(), sites?.close(), guard?.close()]);
  });

  it.runIf(name === 'chromium')('reaches the configured host and nothing else', async () => {
    const page = await gl.openPage(privacyPageUrl(site));
    const tabId = await page.tabId();
    await gl
      .waitForTabState(tabId, (s) => s.flagged?.length > 0)
      .catch(async (e) => {
        console.log(
          'DEBUG',
          JSON.stringify(await gl.tabState(tabId)).slice(0, 1500),
          JSON.stringify(sites.requests),
          JSON.stringify(gl.blocked),
        );
        throw e;
      });
    await waitForSettled(gl, tabId, { guard });
    expect(guard.requests.some((r) => r.text?.includes('GLTEST-S1'))).toBe(true);
    for (const r of guard.requests) expect(r.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(new Set(sites.requests.map((r) => r.host))).toEqual(new Set([HOST]));
    expect(sites.requests.every((r) => r.path.startsWith('/v1/'))).toBe(true);
    expect(gl.unexpectedBlocked()).toEqual([]);
    await page.close();
  });

  // Firefox without the origin permission for the endpoint's site (what a headless run has, and what a person
  // who declined or later took back the permission has): the request cannot go out, and Guardlens says why and
  // how to fix it, instead of "could not be reached". Nothing is counted as checked, nothing passes as safe.
  it.runIf(name === 'firefox')(
    'says the browser gives Guardlens no access to the endpoint, with the fix',
    async () => {
      const page = await gl.openPage(privacyPageUrl(site));
      const tabId = await page.tabId();
      const state = await gl.waitForTabState(tabId, (s) => typeof s.lastError === 'string', {
        timeoutMs: 30_000,
      });
      expect(state.lastError).toBe(
        `no-access: The browser does not let Guardlens reach ${HOST} at https://${HOST}/v1: Guardlens has no access to that site.`,
      );
      expect(state.scanned).toBe(0);
      expect(state.flagged).toEqual([]);
      expect(guard.requests.filter((r) => r.method === 'POST')).toEqual([]);
      expect(gl.unexpectedBlocked()).toEqual([]);
      await page.close();
    },
  );
});
