/**
 * Images on ordinary sites (real host names over HTTPS through the site tunnel). Firefox: another site's image
 * without CORS headers needs the host permission the options page asks for. Before it is granted the image
 * reports the missing permission and the options page offers "Allow", while an image of the page's own site is
 * checked anyway (read by the content script); once granted through the options page's own button, the other
 * site's image is checked and flagged. The grant runs the extension's real `permissions.request`, accepted
 * without a prompt by the preference `extensions.webextOptionalPermissionPrompts` (set through WebDriver BiDi in
 * the browser's chrome scope).
 *
 * Chromium counts the page content script's `<all_urls>` as access to every site at install: another site's
 * image is checked from the start, the options page says so, and turning image checks on asks for nothing new
 * (the request is answered without a dialog).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuardServer, startGuardServer } from '../../server/guard-server';
import { type GuardlensBrowser, launchBrowser, waitFor } from '../harness';
import { type SiteServer, startSiteServer } from '../harness/sites';
import { API_KEY, baseSettings, buildDir, makePng, pageStats, scriptErrors, waitForSettled } from './helpers';

const NEWS = 'news.example.org';
const PHOTOS = 'photos.example.org';
const PAGE = `https://${NEWS}/gallery.html`;
const OTHER_IMAGE = `https://${PHOTOS}/harbour.png`;
const OWN_IMAGE = `https://${NEWS}/own.png`;

const HTML = `<!doctype html><html><head><meta charset="utf-8"><title>Gallery</title></head><body>
<h1>Harbour pictures</h1>
<p>Boats in the morning light, photographed from the pier.</p>
<figure><img id="other" src="${OTHER_IMAGE}" alt="The harbour" width="240" height="160">
<figcaption>From the photo agency.</figcaption></figure>
<figure><img id="own" src="${OWN_IMAGE}" alt="The pier" width="240" height="160">
<figcaption>Our own picture.</figcaption></figure>
</body></html>`;

function serve(sites: SiteServer): void {
  sites.route(PAGE, { body: HTML });
  // No CORS headers: only a host permission lets the extension read them from another origin.
  sites.route(OTHER_IMAGE, { body: makePng(240, 160, [20, 90, 160], 'GLIMG-S1'), contentType: 'image/png' });
  sites.route(OWN_IMAGE, { body: makePng(240, 160, [160, 90, 20], 'GLIMG-S10'), contentType: 'image/png' });
}

/** The image checks the endpoint got, by the category their marker asks for. */
function imageChecks(guard: GuardServer): number {
  return guard.requests.filter((r) => (r.imageCount ?? 0) > 0).length;
}

async function flaggedImages(gl: GuardlensBrowser, tabId: number): Promise<string[]> {
  const state = await gl.tabState(tabId);
  return (state?.flagged ?? [])
    .filter((f: { kind: string }) => f.kind === 'image')
    .flatMap((f: { categories: string[] }) => f.categories)
    .sort();
}

/** Firefox: accept optional permission requests without a prompt (the chrome scope of WebDriver BiDi). */
async function firefoxAcceptPermissionRequests(gl: GuardlensBrowser): Promise<void> {
  const connection = (
    gl.firefox!.browser as unknown as {
      connection: { send(method: string, params: object): Promise<{ result: Record<string, unknown> }> };
    }
  ).connection;
  const tree = await connection.send('browsingContext.getTree', { 'moz:scope': 'chrome' });
  const context = (tree.result.contexts as Array<{ context: string }>)[0]!.context;
  const answer = await connection.send('script.evaluate', {
    expression:
      "Services.prefs.setBoolPref('extensions.webextOptionalPermissionPrompts', false), Services.prefs.getBoolPref('extensions.webextOptionalPermissionPrompts')",
    target: { context },
    awaitPromise: false,
  });
  expect(answer.result).toMatchObject({ type: 'success', result: { value: false } });
}

/** Access to other sites' images: the optional origins, or (Chromium) the content script's `<all_urls>`. */
const hasImageOrigins = (gl: GuardlensBrowser) =>
  gl.extensionEval(async () =>
    (await browser.permissions.contains({ origins: ['https://*/*', 'http://*/*'] }))
      ? 'optional'
      : (await browser.permissions.contains({ origins: ['<all_urls>'] }))
        ? 'all-urls'
        : false,
  );

async function openAndSettle(gl: GuardlensBrowser, guard: GuardServer) {
  const page = await gl.openPage(PAGE);
  const tabId = await page.tabId();
  await waitForSettled(gl, tabId, { guard });
  return { page, tabId };
}

for (const name of ['chromium', 'firefox'] as const) {
  describe(`images on ordinary sites: ${name}`, () => {
    let guard: GuardServer;
    let sites: SiteServer;
    let gl: GuardlensBrowser;

    beforeAll(async () => {
      guard = await startGuardServer();
      sites = await startSiteServer([NEWS, PHOTOS]);
      serve(sites);
      gl = await launchBrowser(name, { extensionPath: buildDir(name), siteTunnel: sites.tunnel });
      // Image checks on without the permission, as a policy or an imported settings file would turn them on.
      await gl.configure(baseSettings(guard, { scanImages: true }), API_KEY);
    }, 90_000);

    afterAll(async () => {
      await gl?.close();
      await sites?.close();
      await guard?.close();
    });

    it.runIf(name === 'chromium')(
      'has access to other sites from the start: the options say so and turning images off and on asks nothing',
      async () => {
        const options = await gl.openExtensionPage('options.html');
        try {
          await options.waitForFunction(
            () => document.getElementById('image-access')?.getAttribute('data-access') === 'granted',
          );
          // Off, then on again: the request goes out in the click and is answered at once.
          await options.click('#scanImages');
          await options.waitForFunction(() => !document.getElementById('image-access'));
          await options.click('#scanImages');
          await options.waitForFunction(
            () =>
              document.getElementById('image-access')?.getAttribute('data-access') === 'granted' &&
              (document.getElementById('scanImages') as HTMLInputElement).checked,
          );
          expect(await hasImageOrigins(gl)).toBe('all-urls');
        } finally {
          await options.close();
        }
      },
      60_000,
    );

    it.runIf(name === 'firefox')(
      'reports the missing permission for another site’s image, checks the page’s own image, and offers Allow',
      async () => {
        // Firefox counts content scripts' matches as no host access.
        expect(await hasImageOrigins(gl)).toBe(false);
        const { page, tabId } = await openAndSettle(gl, guard);
        try {
          await waitFor(async () => (await flaggedImages(gl, tabId)).includes('S10'), {
            message: 'the page’s own image to be checked and flagged',
          });
          await waitFor(
            async () =>
              (await pageStats(gl, tabId)).imageErrors?.some((e) =>
                e.includes(`may not download images from ${PHOTOS}`),
              ),
            { message: 'the permission error for the other site’s image' },
          );
          expect(await flaggedImages(gl, tabId)).toEqual(['S10']);
          expect(imageChecks(guard)).toBe(1);
        } finally {
          await page.close();
        }

        const options = await gl.openExtensionPage('options.html');
        try {
          await options.waitForFunction(
            () => document.getElementById('image-access')?.getAttribute('data-access') === 'needed',
          );
          expect(
            await options.evaluate(() => document.getElementById('image-access')!.textContent),
          ).toContain('Images from other sites are not checked yet');
          await firefoxAcceptPermissionRequests(gl);
          await options.click('#image-access-allow');
          await options.waitForFunction(
            () => document.getElementById('image-access')?.getAttribute('data-access') === 'granted',
          );
          expect(await hasImageOrigins(gl)).toBe('optional');
          // Taken back in the browser: the options page follows (permissions.onRemoved).
          await gl.extensionEval(() =>
            browser.permissions.remove({ origins: ['https://*/*', 'http://*/*'] }),
          );
          await options.waitForFunction(
            () => document.getElementById('image-access')?.getAttribute('data-access') === 'needed',
          );
          await options.click('#image-access-allow');
          await options.waitForFunction(
            () => document.getElementById('image-access')?.getAttribute('data-access') === 'granted',
          );
        } finally {
          await options.close();
        }
        expect(scriptErrors(gl)).toEqual([]);
      },
      90_000,
    );

    it('checks and flags another site’s image once the permission is granted', async () => {
      expect(await hasImageOrigins(gl)).toBe(name === 'chromium' ? 'all-urls' : 'optional');
      const before = imageChecks(guard);
      const { page, tabId } = await openAndSettle(gl, guard);
      try {
        await waitFor(async () => (await flaggedImages(gl, tabId)).join() === 'S1,S10', {
          message: 'both images to be checked and flagged',
        });
        expect(imageChecks(guard) - before).toBeLessThanOrEqual(2);
        expect((await pageStats(gl, tabId)).imageErrors ?? []).toEqual([]);
        const marked = await page.evaluate(() =>
          document.getElementById('other')!.getAttribute('data-guardlens'),
        );
        expect(marked).toBe('flagged');
      } finally {
        await page.close();
      }
      expect(gl.unexpectedBlocked()).toEqual([]);
      expect(scriptErrors(gl)).toEqual([]);
    }, 120_000);
  });
}
