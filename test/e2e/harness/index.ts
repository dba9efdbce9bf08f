/**
 * # The Guardlens real-browser test harness
 *
 * End-to-end tests (`test/e2e/**\/*.e2e.ts`, Vitest project `e2e`, files run one after another) load the
 * built extension (`npm run build` → `.output/chrome-mv3`, `.output/firefox-mv2`) into real browsers and
 * drive them through one interface, `GuardlensBrowser`:
 *
 * ```ts
 * import { launchBrowser, startStaticServer } from './harness';
 * import { startGuardServer } from '../server/guard-server';
 *
 * const guard = await startGuardServer();
 * const site = await startStaticServer();            // test/e2e/pages/ on 127.0.0.1
 * const gl = await launchBrowser('firefox');         // or 'chromium'; one browser per file, in beforeAll
 * await gl.configure({ provider: 'custom', baseUrl: guard.baseUrl, … }, 'test-key');
 * const page = await gl.openPage(site.url('/smoke.html'));
 * const state = await gl.waitForTabState(await page.tabId(), (s) => s.flagged.length > 0);
 * expect(gl.unexpectedBlocked()).toEqual([]);
 * await gl.close();                                  // in afterAll; also removes profile, policy, proxy
 * // On failure, gl.consoleLog holds what pages (and Chromium's worker) printed.
 * ```
 *
 * ## Browsers
 * - **Chromium** (`/usr/bin/chromium`, override with `GUARDLENS_CHROMIUM`) through playwright-core: a
 *   persistent context on a temporary profile, `--load-extension`, new headless mode (`GUARDLENS_HEADED=1`
 *   for a window). The extension id is pinned by the manifest `key`: `pmmobbhmpddpcfiehnfikpngpoikbilp`.
 *   `launchBrowser('chromium', { lang: 'de' })` starts it in another UI language (`--lang` for the extension's
 *   messages, playwright's emulated locale for `i18n.getUILanguage()`; `LANGUAGE`/`LANG` do not change either).
 *   `gl.chromium` gives the playwright context, the service worker, DevTools protocol access
 *   (`cdp('ServiceWorker.stopAllWorkers')`, `browserCdp('Target.getTargets')`) and `stopServiceWorker()`.
 * - **Firefox ESR** (`/usr/bin/firefox-esr`, override with `GUARDLENS_FIREFOX`) through puppeteer-core
 *   over WebDriver BiDi: a temporary profile, the build installed as a temporary add-on, and the internal
 *   UUID fixed by the `extensions.webextensions.uuids` preference, so extension pages are at
 *   `moz-extension://7c1f4a52-3d9e-4b0a-8e61-2f5d9c0b7a14/`. `gl.firefox` gives the puppeteer browser.
 *   Navigation into extension pages needs `--remote-allow-system-access` (see `firefox.ts`).
 *
 * ## Extension pages and storage
 * `extensionEval(fn, ...args)` runs a function in the harness's own extension tab (the build's
 * `manifest.json` shown as text, so no extension code runs there). Functions are sent as source text: they
 * cannot close over test variables, take JSON arguments, and see the extension API as `browser` (Chromium's
 * `chrome`, whose MV3 calls return promises). `configure(settings, apiKey)` writes
 * `storage.local.set({ settings, apiKey })`; `tabState(tabId)` reads `storage.session` key `tab:<tabId>`;
 * `tabIdOf(url)` asks `tabs.query`. The harness tab shows up in `tabs.query` like any other tab.
 *
 * ## The network blocker
 * Each browser is pointed at its own tiny HTTP proxy (`blocking-proxy.ts`). Both browsers send loopback
 * (127.0.0.1, localhost) directly and everything else to the proxy, which records `{ host, port, url?,
 * method, at, origin? }` in `gl.blocked` and refuses it (403; CONNECT tunnels are refused before a byte is
 * relayed). WebRTC is kept from sending UDP around it. The browsers' own background traffic is switched off
 * where a flag or preference allows; what remains is listed in `noise.ts` (`gl.knownNoise`) and
 * `gl.unexpectedBlocked()` leaves it out. Firefox has none left; Chromium keeps two Google endpoints.
 *
 * ## Policies
 * `launchChromium({ policy })` / `launchFirefox({ policy })` write the extension's managed-storage policy
 * into the root-owned, machine-wide policy location before launch and remove it on close (see `policy.ts`),
 * and return once `storage.managed` answers with it (Chromium's first answer comes about 2 s after start).
 * Policy files name their owning process: a launch removes those of dead processes and waits while another
 * live test process holds one for the same browser, since every browser on the machine would read it.
 *
 * ## Private windows
 * A fresh install may not run in private windows. `launchBrowser(name, { allowInPrivate: true })` turns on the
 * browser's switch for it: Chromium's "Allow in Incognito" through the extensions page after launch (the
 * extension restarts once), Firefox's "Run in Private Windows" by installing the add-on with BiDi's
 * `moz:allowPrivateBrowsing`. Open a private window with `extensionEval` and `windows.create({ incognito: true })`.
 *
 * ## Builds and clean-up
 * Each launch loads a copy of the build, taken once every file its manifest names is present (waiting up
 * to 20 s for a build being written), so a rebuild during a run cannot pull files from under the browser.
 * `close()` closes the browser, then removes its policy file, its proxy and its temporary directory
 * (profile and build copy), even when a step fails; a launch that fails half-way cleans up what it
 * started. Temporary directories are `guardlens-e2e-*`, each recording its owner's pid; later launches
 * end browsers still running on those whose owner died and remove them.
 *
 * ## Pages
 * `startStaticServer()` serves `test/e2e/pages/` and registered routes or mounted directories on
 * 127.0.0.1 at a random port (`static-server.ts`). `sites.ts` serves pages at real host names over HTTPS
 * (the launchers' `siteTunnel` option).
 */
import { launchChromium } from './chromium';
import { launchFirefox } from './firefox';
import type { BrowserName, ChromiumLaunchOptions, GuardlensBrowser, LaunchOptions } from './types';

export type { BlockedRequest, BlockingProxy } from './blocking-proxy';
export { startBlockingProxy } from './blocking-proxy';
export {
  CHROMIUM_EXECUTABLE,
  CHROMIUM_EXTENSION_ID,
  CHROMIUM_FLAGS,
  chromiumExtensionIdFromKey,
  launchChromium,
} from './chromium';
export { FIREFOX_EXECUTABLE, FIREFOX_EXTENSION_UUID, firefoxPreferences, launchFirefox } from './firefox';
export type { NoiseRule } from './noise';
export { BROWSER_NOISE, isBrowserNoise, withoutNoise } from './noise';
export {
  CHROMIUM_POLICY_FILE,
  chromiumPolicyFile,
  FIREFOX_POLICY_FILE,
  PolicySetupError,
} from './policy';
export type {
  RouteHandler,
  RouteSpec,
  ServedRequest,
  StaticServer,
  StaticServerOptions,
} from './static-server';
export { PAGES_DIR, startStaticServer } from './static-server';
export type {
  BrowserName,
  ChromiumControls,
  ChromiumLaunchOptions,
  ConsoleEntry,
  Falsy,
  FirefoxControls,
  GuardlensBrowser,
  LaunchOptions,
  PageFunction,
  PageHandle,
  WaitOptions,
} from './types';
export {
  BuildMissingError,
  EXTENSION_BUILD_DIRS,
  REPO_ROOT,
  requireBuild,
  TIMED_OUT,
  WaitTimeoutError,
  waitFor,
  within,
} from './util';

export const BROWSER_NAMES: readonly BrowserName[] = ['chromium', 'firefox'];

/** Launches either browser with the same options (`headless` only matters for Chromium). */
export function launchBrowser(
  name: BrowserName,
  opts: ChromiumLaunchOptions | LaunchOptions = {},
): Promise<GuardlensBrowser> {
  return name === 'chromium' ? launchChromium(opts) : launchFirefox(opts);
}
