/**
 * Images for the guard model: the background fetches the image URLs the page reports (a page's canvas would be
 * tainted by cross-origin images), skips what is not worth a check (SVG, tiny images), downscales what is too
 * large (OffscreenCanvas in the Chrome service worker, the same or a `<canvas>` in the Firefox background page)
 * and hands the engine a `data:` URL within the providers' size limit, with the alt text and the text around.
 *
 * Images are checked only when the endpoint and model take them (`imageSupport`): a Llama Guard generation
 * with `maxImages > 0`, a preset that accepts images, chat mode.
 *
 * A web page decides which URLs its content script reports, so the background refuses to fetch loopback and
 * private-network addresses for a page that is not on such an address itself. Images of other sites without
 * CORS headers need a host permission for that site; without it the error says so.
 */
import { EngineError } from '@/lib/engine/types';
import { GuardError } from '@/lib/guard/errors';
import { getGuardModel } from '@/lib/guard/registry';
import { getPreset } from '@/lib/providers/presets';
import { resolveAction } from '@/lib/settings/actions';
import type { Settings } from '@/lib/settings/schema';
import { errorMessage, lookupMessage, templateMessage } from '@/utils/i18n';
import type { ImageResult } from '@/utils/messages';
import type { EngineHost } from './host';

/** Longest side sent to the model, in pixels (Llama Guard 4 sees images in tiles of a few hundred pixels). */
export const MAX_IMAGE_SIDE = 1024;
/** Largest `data:` URL sent: under the strictest provider limit on base64 images (4 MB). */
export const MAX_IMAGE_DATA_URL_CHARS = 3_800_000;
/** Largest image downloaded. */
export const MAX_IMAGE_FETCH_BYTES = 20_000_000;
/** Images with a side shorter than this (pixels) are not checked: icons, spacers, tracking pixels. */
export const MIN_IMAGE_PIXELS = 32;
const FETCH_TIMEOUT_MS = 20_000;
const FETCHES_AT_ONCE = 4;
/** Formats sent as they are when small enough; others are re-encoded. */
const PASS_THROUGH = new Set(['image/png', 'image/jpeg', 'image/webp']);

/**
 * Why an image is not checked, in English by message key (values `$1` …). People read them from the messages
 * file (`say`), in the popup and on the page.
 */
export const IMAGE_TEXTS = Object.freeze({
  image_error_permission:
    'Guardlens may not download images from $1: turn on "Allow" under Check images in Guardlens\' options (Page scanning), or allow it to access this site in the browser\'s extension settings.',
  image_error_encode: 'The image could not be encoded.',
  image_error_no_canvas: 'No 2D canvas to downscale the image.',
  image_error_timeout: 'The image took too long to load.',
  image_error_private: 'Images on local or private network addresses are not fetched for this page.',
  image_error_download: 'The image could not be downloaded: $1',
  image_error_http: 'The image could not be downloaded (HTTP $1).',
  image_error_too_large: 'The image is too large to download.',
  image_error_data_empty: 'The data: URL has no data.',
  image_error_data_invalid: 'The data: URL is not valid.',
  image_error_bad_url: 'The image URL is not valid.',
  image_error_scheme: 'Images from $1 URLs cannot be checked.',
  image_error_not_image: 'The file is not an image Guardlens can read.',
  image_error_decode: 'The image could not be decoded.',
  image_error_unreadable: 'The image could not be read.',
  image_error_shrink: 'The image could not be made small enough to send.',
  image_skipped_svg: 'SVG images are not checked.',
  image_skipped_small: 'The image is too small.',
  image_skipped_off: 'Image checks are turned off.',
  image_skipped_inactive: 'Guardlens is not active on this page ($1).',
  image_unsupported_model: '$1 does not take images (Llama Guard 4 and 3 11B Vision do).',
  image_unsupported_provider: '$1 does not take images.',
  image_unsupported_mode: 'Images can only be checked in chat mode.',
} as const);

type ImageTextKey = keyof typeof IMAGE_TEXTS;

/** A reason from `IMAGE_TEXTS` in the messages file's words. */
function say(key: ImageTextKey, ...subs: (string | number)[]): string {
  return templateMessage(IMAGE_TEXTS, key, ...subs);
}

/** An image that cannot be checked, with a reason a person can read (from the messages file). */
export class ImageError extends Error {
  override name = 'ImageError';
  constructor(key: ImageTextKey, ...subs: (string | number)[]) {
    super(say(key, ...subs));
  }
}

/** Another site's image the browser lets Guardlens download only with a host permission it does not have. */
export class ImagePermissionError extends ImageError {
  override name = 'ImagePermissionError';
  constructor(readonly host: string) {
    super('image_error_permission', host);
  }
}

export type PreparedImage =
  | { ok: true; dataUrl: string; width: number; height: number; reencoded: boolean }
  | { ok: false; reason: string };

/** Decoding and re-encoding, injected so the logic is testable outside a browser. */
export interface ImageCodec {
  decode(blob: Blob): Promise<DecodedImage>;
}

export interface DecodedImage {
  width: number;
  height: number;
  /** The image scaled to `width` × `height` on white, as JPEG. */
  encode(width: number, height: number, quality: number): Promise<Blob>;
  close(): void;
}

type Canvas2D = OffscreenCanvas | HTMLCanvasElement;

function makeCanvas(width: number, height: number): Canvas2D {
  if (typeof OffscreenCanvas === 'function') return new OffscreenCanvas(width, height);
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

function canvasBlob(canvas: Canvas2D, type: string, quality: number): Promise<Blob> {
  if ('convertToBlob' in canvas) return canvas.convertToBlob({ type, quality });
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new ImageError('image_error_encode'))), type, quality),
  );
}

/** The browser's own decoder and canvas. */
export const browserCodec: ImageCodec = {
  async decode(blob) {
    const bitmap = await createImageBitmap(blob);
    return {
      width: bitmap.width,
      height: bitmap.height,
      async encode(width, height, quality) {
        const canvas = makeCanvas(width, height);
        const context = canvas.getContext('2d') as
          | OffscreenCanvasRenderingContext2D
          | CanvasRenderingContext2D
          | null;
        if (!context) throw new ImageError('image_error_no_canvas');
        context.fillStyle = '#fff';
        context.fillRect(0, 0, width, height);
        context.drawImage(bitmap, 0, 0, width, height);
        return canvasBlob(canvas, 'image/jpeg', quality);
      },
      close: () => bitmap.close(),
    };
  },
};

/** Whether the configured model and endpoint take images; the reason when not. */
export function imageSupport(
  settings: Pick<Settings, 'guardModel' | 'provider' | 'requestMode'>,
): string | null {
  const model = getGuardModel(settings.guardModel);
  if (model.maxImages === 0) return say('image_unsupported_model', model.label);
  const preset = getPreset(settings.provider);
  if (!preset.images) return say('image_unsupported_provider', preset.label);
  if (settings.requestMode !== 'chat') return say('image_unsupported_mode');
  return null;
}

/** Loopback, private, link-local and local-only names, where a page should not send the extension. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  if (host === 'localhost' || /\.(localhost|local|internal|home\.arpa)$/.test(host)) return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168)
    );
  }
  if (host.includes(':')) {
    if (host === '::' || host === '::1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
    if (mapped) return isPrivateHost(mapped[1]!);
    if (/^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/.test(host)) return true;
    return /^f[cd][0-9a-f]{2}:/.test(host) || /^fe[89ab][0-9a-f]:/.test(host);
  }
  return false;
}

/** The image format from its first bytes, or null. */
export function sniffImageType(bytes: Uint8Array): string | null {
  const b = (i: number) => bytes[i] ?? -1;
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (b(0) === 0x89 && ascii(1, 4) === 'PNG') return 'image/png';
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return 'image/jpeg';
  if (ascii(0, 4) === 'GIF8') return 'image/gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  if (ascii(0, 2) === 'BM') return 'image/bmp';
  if (ascii(4, 8) === 'ftyp') return /^(avif|avis)$/.test(ascii(8, 12)) ? 'image/avif' : 'image/heif';
  if (b(0) === 0 && b(1) === 0 && b(2) === 1 && b(3) === 0) return 'image/x-icon';
  const head = new TextDecoder().decode(bytes.subarray(0, 512)).trimStart().toLowerCase();
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return 'image/svg+xml';
  return null;
}

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

let fetching = 0;
const waiting: Array<() => void> = [];

async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (fetching >= FETCHES_AT_ONCE) await new Promise<void>((resolve) => waiting.push(resolve));
  fetching++;
  try {
    return await fn();
  } finally {
    fetching--;
    waiting.shift()?.();
  }
}

/** Why an image check failed, in words a person reads (an endpoint error from the messages file too). */
function describe(err: unknown): string {
  if (err instanceof GuardError || err instanceof EngineError) return errorMessage(err);
  if (err instanceof Error) return err.name === 'TimeoutError' ? say('image_error_timeout') : err.message;
  return String(err);
}

async function download(url: URL, pageUrl: string, signal?: AbortSignal): Promise<Uint8Array> {
  const pagePrivate = (() => {
    try {
      return isPrivateHost(new URL(pageUrl).hostname);
    } catch {
      return false;
    }
  })();
  const refuse = (u: URL) => {
    if (!pagePrivate && isPrivateHost(u.hostname)) throw new ImageError('image_error_private');
  };
  refuse(url);
  const timeout = AbortSignal.timeout(FETCH_TIMEOUT_MS);
  const response = await fetch(url, {
    credentials: 'omit',
    cache: 'force-cache',
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  }).catch(async (err: unknown) => {
    // Another site's image without CORS headers is readable only with a host permission for that site.
    if (!(await hasHostPermission(url))) throw new ImagePermissionError(url.host);
    throw new ImageError('image_error_download', describe(err));
  });
  if (response.url) refuse(new URL(response.url));
  if (!response.ok) throw new ImageError('image_error_http', response.status);
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > MAX_IMAGE_FETCH_BYTES) throw new ImageError('image_error_too_large');
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes.length > MAX_IMAGE_FETCH_BYTES) throw new ImageError('image_error_too_large');
  return bytes;
}

/** Whether the extension holds a host permission for the URL's origin (true when it cannot tell). */
async function hasHostPermission(url: URL): Promise<boolean> {
  try {
    return await browser.permissions.contains({ origins: [`${url.protocol}//${url.hostname}/*`] });
  } catch {
    return true;
  }
}

function decodeDataUrl(src: string): Uint8Array {
  const comma = src.indexOf(',');
  if (comma < 0) throw new ImageError('image_error_data_empty');
  const meta = src.slice(5, comma);
  const payload = src.slice(comma + 1);
  try {
    if (/;base64$/i.test(meta)) {
      const binary = atob(payload.replace(/\s+/g, ''));
      const bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      return bytes;
    }
    return new TextEncoder().encode(decodeURIComponent(payload));
  } catch {
    throw new ImageError('image_error_data_invalid');
  }
}

export interface PrepareOptions {
  /** The page the image is on (private-address rule). */
  pageUrl: string;
  signal?: AbortSignal;
  codec?: ImageCodec;
  maxSide?: number;
  maxChars?: number;
}

/**
 * Fetches (or decodes) an image and returns a `data:` URL to send, or why it is skipped. Throws `ImageError`
 * when the image cannot be had at all.
 */
export async function prepareImage(src: string, options: PrepareOptions): Promise<PreparedImage> {
  const codec = options.codec ?? browserCodec;
  const maxSide = options.maxSide ?? MAX_IMAGE_SIDE;
  const maxChars = options.maxChars ?? MAX_IMAGE_DATA_URL_CHARS;
  let url: URL;
  try {
    url = new URL(src);
  } catch {
    throw new ImageError('image_error_bad_url');
  }
  let bytes: Uint8Array;
  if (url.protocol === 'data:') bytes = decodeDataUrl(src);
  else if (url.protocol === 'http:' || url.protocol === 'https:')
    bytes = await limited(() => download(url, options.pageUrl, options.signal));
  else throw new ImageError('image_error_scheme', url.protocol);

  const type = sniffImageType(bytes);
  if (type === 'image/svg+xml') return { ok: false, reason: say('image_skipped_svg') };
  if (!type) throw new ImageError('image_error_not_image');
  let image: DecodedImage;
  try {
    image = await codec.decode(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
  } catch {
    throw new ImageError('image_error_decode');
  }
  try {
    const { width, height } = image;
    if (Math.min(width, height) < MIN_IMAGE_PIXELS) return { ok: false, reason: say('image_skipped_small') };
    const longest = Math.max(width, height);
    const header = `data:${type};base64,`;
    if (
      PASS_THROUGH.has(type) &&
      longest <= maxSide &&
      header.length + Math.ceil(bytes.length / 3) * 4 <= maxChars
    )
      return { ok: true, dataUrl: header + toBase64(bytes), width, height, reencoded: false };
    let side = Math.min(maxSide, longest);
    let quality = 0.85;
    for (let attempt = 0; attempt < 6; attempt++) {
      const scale = side / longest;
      const w = Math.max(1, Math.round(width * scale));
      const h = Math.max(1, Math.round(height * scale));
      const blob = await image.encode(w, h, quality);
      const dataUrl = `data:image/jpeg;base64,${toBase64(new Uint8Array(await blob.arrayBuffer()))}`;
      if (dataUrl.length <= maxChars) return { ok: true, dataUrl, width: w, height: h, reencoded: true };
      side = Math.floor(side * 0.7);
      quality = Math.max(0.5, quality - 0.1);
    }
    throw new ImageError('image_error_shrink');
  } finally {
    image.close();
  }
}

export interface ImagePlace {
  tabId: number;
  frameId: number;
  /** The frame's URL. */
  url: string;
  /** The tab's URL (private-address rule). */
  pageUrl: string;
  ref: string;
  priority: 'viewport' | 'image';
}

/** Whether `src` is on the frame's own site (its content script may read it without a host permission). */
export function sameOrigin(src: string, frameUrl: string): boolean {
  try {
    const a = new URL(src);
    const b = new URL(frameUrl);
    return (a.protocol === 'https:' || a.protocol === 'http:') && a.origin === b.origin;
  } catch {
    return false;
  }
}

/**
 * Prepares an image and asks the engine about it; never throws. `readInPage` reads an image of the frame's own
 * site through its content script (as a `data:` URL) when the background may not download it.
 */
export async function checkImage(
  h: EngineHost,
  place: ImagePlace,
  image: { src: string; alt: string; context: string },
  codec?: ImageCodec,
  readInPage?: (src: string) => Promise<string>,
): Promise<ImageResult> {
  let prepared: PreparedImage;
  const options = { pageUrl: place.pageUrl, ...(codec ? { codec } : {}) };
  try {
    try {
      prepared = await prepareImage(image.src, options);
    } catch (err) {
      if (!(err instanceof ImagePermissionError && readInPage && sameOrigin(image.src, place.url))) throw err;
      prepared = await prepareImage(await readInPage(image.src), options);
    }
  } catch (err) {
    return { status: 'error', reason: describe(err) };
  }
  if (!prepared.ok) return { status: 'skipped', reason: prepared.reason };
  try {
    const verdict = await h.engine.check({
      kind: 'image',
      tabId: place.tabId,
      frameId: place.frameId,
      url: place.url,
      ref: place.ref,
      priority: place.priority,
      text: image.alt,
      context: image.context,
      imageData: prepared.dataUrl,
    });
    if (verdict.safe) return { status: 'safe' };
    const resolved = resolveAction(h.state.settings, verdict.categories, lookupMessage);
    if (resolved.action === 'ignore') return { status: 'safe' };
    return { status: 'flagged', verdict: { ref: place.ref, ...resolved } };
  } catch (err) {
    return { status: 'error', reason: describe(err) };
  }
}
