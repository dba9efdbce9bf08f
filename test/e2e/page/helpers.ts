/**
 * Shared helpers for the page-scanning end-to-end tests: settings, the content script's statistics, waiting for
 * a page to settle, test images, and word coverage of a text.
 */
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import type { GuardServer } from '../../server/guard-server';
import {
  type BrowserName,
  type ConsoleEntry,
  EXTENSION_BUILD_DIRS,
  type GuardlensBrowser,
  requireBuild,
  waitFor,
} from '../harness';

export const API_KEY = 'test-key';

/** The endpoint settings of these tests: Llama Guard 4 (takes images) through a custom endpoint, chat mode. */
export function baseSettings(
  guard: GuardServer,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    provider: 'custom',
    baseUrl: guard.baseUrl,
    model: 'llama-guard-4-12b',
    guardModel: 'llama-guard-4-12b',
    requestMode: 'chat',
    ...extra,
  };
}

/**
 * The build to load: `.output/…` as usual, or `$GUARDLENS_BUILD_DIR/…` (a private build, so that building
 * does not replace what another test run has loaded).
 */
export function buildDir(name: BrowserName): string {
  const root = process.env.GUARDLENS_BUILD_DIR;
  const dir = root
    ? path.resolve(root, name === 'chromium' ? 'chrome-mv3' : 'firefox-mv2')
    : EXTENSION_BUILD_DIRS[name];
  return requireBuild(name, dir);
}

export interface PageStats {
  tasks: number;
  totalMs: number;
  longestMs: number;
  blocksSent: number;
  imagesChecked: number;
  flagged: number;
  errors: number;
  scanning: boolean;
  idle: boolean;
  longestTask: string;
  /** The last image failures, with their reasons. */
  imageErrors?: string[];
}

/** Sends a message of the extension's protocol to a tab (frame 0 unless given), from the extension page. */
export async function tabMessage<T>(
  gl: GuardlensBrowser,
  tabId: number,
  type: string,
  data?: unknown,
  frameId = 0,
): Promise<T> {
  const answer = await gl.extensionEval(
    (id: number, t: string, d: unknown, frame: number) =>
      browser.tabs.sendMessage(
        id,
        { id: Date.now(), type: t, data: d, timestamp: Date.now() },
        { frameId: frame },
      ),
    tabId,
    type,
    data ?? null,
    frameId,
  );
  const { res, err } = (answer ?? {}) as { res?: T; err?: { message?: string } };
  if (err) throw new Error(`${type} failed in tab ${tabId}: ${err.message ?? JSON.stringify(err)}`);
  return res as T;
}

/** Sends a message of the extension's protocol to the background, from the extension page. */
export async function backgroundMessage<T>(gl: GuardlensBrowser, type: string, data?: unknown): Promise<T> {
  const answer = await gl.extensionEval(
    (t: string, d: unknown) =>
      browser.runtime.sendMessage({ id: Date.now(), type: t, data: d, timestamp: Date.now() }),
    type,
    data ?? null,
  );
  const { res, err } = (answer ?? {}) as { res?: T; err?: { message?: string } };
  if (err) throw new Error(`${type} failed: ${err.message ?? JSON.stringify(err)}`);
  return res as T;
}

export function pageStats(gl: GuardlensBrowser, tabId: number): Promise<PageStats> {
  return tabMessage<PageStats>(gl, tabId, 'page:stats');
}

/**
 * Waits until the page's content script has nothing queued and has sent nothing new for `quietMs`, and the tab
 * has no checks pending. Returns the last statistics.
 */
/**
 * Waits until the background runs with the model id just configured (it applies stored settings a moment after
 * they are written), so the page opened next is scanned with them and not with the previous case's.
 */
export async function settingsInForce(gl: GuardlensBrowser, model: string): Promise<void> {
  const tabId = await gl.tabIdOf(`${gl.extensionOrigin}/manifest.json`);
  await waitFor(
    async () => {
      const view = await gl.extensionEval(
        (id: number) =>
          browser.runtime
            .sendMessage({ id: 1, type: 'tab:state', data: { tabId: id }, timestamp: Date.now() })
            .then((reply: { res?: { endpoint?: { model?: string } } }) => reply?.res?.endpoint?.model ?? ''),
        tabId,
      );
      return view === model;
    },
    { message: `the background to run with the model ${model}`, timeoutMs: 10_000 },
  );
}

export async function waitForSettled(
  gl: GuardlensBrowser,
  tabId: number,
  opts: { quietMs?: number; timeoutMs?: number; guard?: GuardServer } = {},
): Promise<PageStats> {
  const quietMs = opts.quietMs ?? 600;
  let last = '';
  let since = Date.now();
  return waitFor(
    async () => {
      const stats = await pageStats(gl, tabId).catch(() => undefined);
      if (!stats?.scanning || !stats.idle) return undefined;
      const state = await gl.tabState(tabId);
      const key = `${stats.blocksSent}/${stats.imagesChecked}/${opts.guard?.requests.length ?? 0}`;
      if (key !== last) {
        last = key;
        since = Date.now();
        return undefined;
      }
      if ((state?.pending ?? 0) > 0 || Date.now() - since < quietMs) return undefined;
      return stats;
    },
    { message: `tab ${tabId} to finish scanning`, timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 100 },
  );
}

/**
 * Script errors from the extension: anything the page content script logged or threw, and uncaught errors in
 * the background (deliberate log lines of other features, which start with "Guardlens:", are not script errors).
 */
export function scriptErrors(gl: GuardlensBrowser): ConsoleEntry[] {
  return gl.consoleLog.filter((e) => {
    if (e.type !== 'error' && e.type !== 'pageerror') return false;
    const fromContent = `${e.url ?? ''} ${e.text}`.includes('content-scripts/content');
    const uncaught =
      (e.url ?? '').startsWith(gl.extensionOrigin) &&
      (e.type === 'pageerror' || /Uncaught|Error in event/.test(e.text));
    return fromContent || uncaught;
  });
}

/** Texts the endpoint was asked to classify. */
export function sentTexts(guard: GuardServer): string[] {
  return guard.requests.filter((r) => r.method === 'POST' && typeof r.text === 'string').map((r) => r.text!);
}

// ---------------------------------------------------------------------------------------------------------------
// Images

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([length, body, crc]);
}

/** A solid-colour PNG; `text` goes into a tEXt chunk (how a `GLIMG-S<n>` marker rides in the image bytes). */
export function makePng(
  width: number,
  height: number,
  rgb: [number, number, number],
  text?: string,
): Uint8Array {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // truecolour
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x++) row.set(rgb, 1 + x * 3);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header)];
  if (text) parts.push(chunk('tEXt', Buffer.from(`Comment\0${text}`, 'latin1')));
  parts.push(chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0)));
  return new Uint8Array(Buffer.concat(parts));
}

/** The image URLs a recorded chat request carried. */
export function requestImages(request: { body: unknown }): string[] {
  const out: string[] = [];
  const visit = (value: unknown) => {
    if (Array.isArray(value)) for (const v of value) visit(v);
    else if (value && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      const image = record.image_url as { url?: unknown } | undefined;
      if (record.type === 'image_url' && typeof image?.url === 'string') out.push(image.url);
      else for (const v of Object.values(record)) visit(v);
    }
  };
  visit(request.body);
  return out;
}

/** Width and height of a JPEG `data:` URL, from its start-of-frame marker. */
export function jpegSize(dataUrl: string): { width: number; height: number } | null {
  const match = /^data:image\/jpeg;base64,(.*)$/s.exec(dataUrl);
  if (!match) return null;
  const bytes = Buffer.from(match[1]!, 'base64');
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1]!;
    const length = bytes.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return { height: bytes.readUInt16BE(i + 5), width: bytes.readUInt16BE(i + 7) };
    i += 2 + length;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// Coverage

const SCRIPTS_WITHOUT_SPACES = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}]/u;

/**
 * The words of a text, lower case: runs of letters and digits; in scripts written without spaces (Chinese,
 * Japanese, Thai) each character counts as a word.
 */
export function words(text: string): string[] {
  const out: string[] = [];
  for (const match of text
    .toLowerCase()
    .normalize('NFC')
    .matchAll(/[\p{L}\p{M}\p{N}]+/gu)) {
    const token = match[0];
    if (SCRIPTS_WITHOUT_SPACES.test(token)) {
      let run = '';
      for (const ch of token) {
        if (SCRIPTS_WITHOUT_SPACES.test(ch)) {
          if (run) out.push(run);
          run = '';
          out.push(ch);
        } else run += ch;
      }
      if (run) out.push(run);
    } else out.push(token);
  }
  return out;
}

/** Share of `expected`'s words (counted with multiplicity) found among `actual`'s words. */
export function coverage(expected: string, actual: string): { words: number; found: number; share: number } {
  const have = new Map<string, number>();
  for (const w of words(actual)) have.set(w, (have.get(w) ?? 0) + 1);
  let total = 0;
  let found = 0;
  for (const w of words(expected)) {
    total++;
    const n = have.get(w) ?? 0;
    if (n > 0) {
      found++;
      have.set(w, n - 1);
    }
  }
  return { words: total, found, share: total === 0 ? 1 : found / total };
}

/** The lines of a text, whitespace collapsed, empty ones left out. */
function linesOf(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' ').trim())
    .filter(Boolean);
}

/**
 * What a page shows a person, to measure coverage against: `document.body.innerText`, each line once (Guardlens
 * sends the same content once), less the lines its form controls show — fields, drop-down lists, buttons,
 * editable regions — which Guardlens never reads (a page can copy what a person types into them). Takes any page
 * that evaluates a function (the harness's, or a Playwright page).
 */
export async function shownText(page: {
  evaluate<T>(fn: () => T | Promise<T>): Promise<T>;
}): Promise<string> {
  const { all, controls } = await page.evaluate(() => ({
    // biome-ignore lint/performance/useDomNodeTextContent: what the page shows is what is measured.
    all: document.body?.innerText ?? '',
    controls: [
      ...document.querySelectorAll(
        'select, button, textarea, [contenteditable]:not([contenteditable="false"])',
      ),
    ]
      // biome-ignore lint/performance/useDomNodeTextContent: as above.
      .map((e) => (e as HTMLElement).innerText),
  }));
  const skip = new Set(controls.flatMap(linesOf));
  return [...new Set(linesOf(all))].filter((l) => !skip.has(l)).join('\n');
}

/** Scrolls the page to its end a screen at a time, as a reader would, then back to the top. */
export async function scrollThrough(page: {
  evaluate<T>(fn: () => T | Promise<T>): Promise<T>;
}): Promise<void> {
  await page.evaluate(async () => {
    const pause = () => new Promise((r) => setTimeout(r, 60));
    for (let i = 0; i < 40; i++) {
      const before = window.scrollY;
      window.scrollBy(0, window.innerHeight);
      await pause();
      if (window.scrollY === before) break;
    }
    window.scrollTo(0, 0);
    await pause();
  });
}
