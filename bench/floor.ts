/**
 * The floor of any page content script: a Chromium with an extension whose content script does the least a
 * content script that listens to its background can do — it starts in every frame at `document_start` and asks
 * its service worker one question (`page:hello` with the page's URL), which answers that the page is not
 * scanned. That is also all the issue allows Guardlens to do on an excluded site.
 *
 * Traced like the Guardlens browser, its extension time per page is what Chromium itself charges for a content
 * script (starting the isolated world, the script, the extension API bindings, one message), before any of
 * Guardlens' own work: the benchmark reports it beside the `innerText` baseline.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir, removeTempDir } from '../test/e2e/harness/util';
import { type BaselineBrowser, launchBaseline } from './browsers';

const MANIFEST = {
  manifest_version: 3,
  name: 'Guardlens benchmark floor',
  version: '1.0.0',
  description: 'A content script that only asks its background once: the cost of any content script.',
  background: { service_worker: 'background.js' },
  content_scripts: [
    {
      matches: ['<all_urls>'],
      js: ['content.js'],
      run_at: 'document_start',
      all_frames: true,
      match_about_blank: false,
    },
  ],
};

const BACKGROUND = `chrome.runtime.onMessage.addListener((message, sender, respond) => {
  respond({ active: false, reason: 'excluded' });
});
`;

const CONTENT = `(() => {
  chrome.runtime.sendMessage({ type: 'page:hello', data: { url: location.href } }, () => void chrome.runtime.lastError);
})();
`;

export interface FloorBrowser extends BaselineBrowser {
  /** `chrome-extension://<id>` of the floor extension. */
  extensionOrigin: string;
}

/** Writes the floor extension to `dir`. */
export async function writeFloorExtension(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(MANIFEST, null, 2)}\n`);
  await writeFile(path.join(dir, 'background.js'), BACKGROUND);
  await writeFile(path.join(dir, 'content.js'), CONTENT);
}

/** Chromium with the floor extension, otherwise launched as the baseline. */
export async function launchFloor(): Promise<FloorBrowser> {
  const extensionDir = await makeTempDir('bench-floor');
  let browser: BaselineBrowser | undefined;
  try {
    await writeFloorExtension(extensionDir);
    browser = await launchBaseline(extensionDir);
    const { context } = browser;
    const isOurs = (url: string) => url.startsWith('chrome-extension://') && url.endsWith('/background.js');
    const worker =
      context.serviceWorkers().find((w) => isOurs(w.url())) ??
      (await context.waitForEvent('serviceworker', { predicate: (w) => isOurs(w.url()), timeout: 20_000 }));
    const base = browser;
    return {
      ...base,
      extensionOrigin: `chrome-extension://${new URL(worker.url()).host}`,
      close: async () => {
        await base.close();
        await removeTempDir(extensionDir);
      },
    };
  } catch (error) {
    await browser?.close().catch(() => {});
    await removeTempDir(extensionDir);
    throw error;
  }
}
