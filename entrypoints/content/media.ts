/**
 * Images on the page: `img` (its `currentSrc`, once loaded — lazy images included), video posters and CSS
 * background images of large elements. Each is checked when it comes near the viewport (IntersectionObserver,
 * whose entries also give its size without forcing layout); tiny, invisible, broken and decorative ones are
 * skipped. `http(s)` images are fetched by the background (the page's canvas would be tainted); `data:` and
 * `blob:` images are read here. Alt text, the nearest caption and the text around travel with each image.
 *
 * With "hide images until checked", images stay hidden (stylesheet rule) until their element is marked
 * `data-guardlens-img="done"`: checked safe, skipped, flagged (then blurred), or failed with the fail mode open.
 */
import type { FailMode } from '@/lib/settings/schema';
import type { ImageReport, ImageResult } from '@/utils/messages';
import { IMAGE_ATTRIBUTE, markUnchecked } from './enforce';
import { normalizeText } from './extract';
import { t } from './i18n';
import { measure, retryOnce, stats } from './slices';

/** Smallest rendered size worth a check, in CSS pixels. */
export const MIN_IMAGE_SIDE = 64;
/** Background images are checked only on elements at least this large. */
export const MIN_BACKGROUND_WIDTH = 160;
export const MIN_BACKGROUND_HEIGHT = 100;
/** An image with empty alt text (decorative by HTML's rules) is still checked from this size on. */
export const LARGE_IMAGE_SIDE = 200;
/** Largest `data:` URL the content script passes on. */
export const MAX_DATA_URL_CHARS = 12_000_000;
const MAX_TEXT = 300;
const IN_FLIGHT = 3;

export type MediaKind = 'img' | 'poster' | 'background';

export interface MediaSource {
  kind: MediaKind;
  src: string;
  /** Intrinsic size, where known. */
  natural?: { width: number; height: number };
}

interface Size {
  width: number;
  height: number;
}

/** The first `url(…)` of a computed `background-image`, or null. Gradients alone are not images. */
export function backgroundUrl(value: string | null | undefined): string | null {
  if (!value || value === 'none') return null;
  const match = /url\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^)\s]*))\s*\)/.exec(value);
  const url = match?.[1] ?? match?.[2] ?? match?.[3];
  return url ? url.replace(/\\(.)/g, '$1') : null;
}

/**
 * What to check for an element: its source, or `'loading'` (an image not loaded yet: wait for its load event),
 * or null (nothing to check: no source, broken image, SVG…).
 */
export function mediaSource(el: Element): MediaSource | 'loading' | null {
  const tag = el.localName;
  if (tag === 'img') {
    const img = el as HTMLImageElement;
    if (!img.complete) return 'loading';
    const src = img.currentSrc || img.src;
    if (!src || img.naturalWidth === 0) return null;
    return { kind: 'img', src, natural: { width: img.naturalWidth, height: img.naturalHeight } };
  }
  if (tag === 'video') {
    const poster = absolute((el as HTMLVideoElement).poster || el.getAttribute('poster'), el);
    return poster ? { kind: 'poster', src: poster } : null;
  }
  const url = absolute(backgroundUrl(getComputedStyle(el).backgroundImage), el);
  return url ? { kind: 'background', src: url } : null;
}

function absolute(url: string | null, el: Element): string | null {
  if (!url) return null;
  try {
    return new URL(url, el.baseURI).href;
  } catch {
    return null;
  }
}

/** Marked as decoration: hidden from assistive technology, a presentation role, or empty alt on a small image. */
export function isDecorative(el: Element, rendered: Size): boolean {
  if (el.getAttribute('aria-hidden') === 'true') return true;
  const role = el.getAttribute('role');
  if (role === 'presentation' || role === 'none') return true;
  return (
    el.localName === 'img' &&
    el.getAttribute('alt') === '' &&
    Math.min(rendered.width, rendered.height) < LARGE_IMAGE_SIDE
  );
}

/** Large enough to be worth a check (rendered size, and intrinsic size where known). */
export function isBigEnough(source: MediaSource, rendered: Size): boolean {
  if (source.kind === 'background')
    return rendered.width >= MIN_BACKGROUND_WIDTH && rendered.height >= MIN_BACKGROUND_HEIGHT;
  if (rendered.width < MIN_IMAGE_SIDE || rendered.height < MIN_IMAGE_SIDE) return false;
  const natural = source.natural;
  return !natural || (natural.width >= MIN_IMAGE_SIDE / 2 && natural.height >= MIN_IMAGE_SIDE / 2);
}

function clip(text: string): string {
  const normalized = normalizeText(text);
  return normalized.length > MAX_TEXT ? `${normalized.slice(0, MAX_TEXT - 1)}…` : normalized;
}

/** Alt text, or the title or label the image carries. */
export function altOf(el: Element): string {
  return clip(el.getAttribute('alt') || el.getAttribute('title') || el.getAttribute('aria-label') || '');
}

/** The caption of the figure the image is in, if any. */
export function captionOf(el: Element): string {
  const caption = el.closest('figure')?.querySelector('figcaption');
  return caption ? clip(caption.textContent ?? '') : '';
}

/** Reads a `blob:` image of the page as a `data:` URL. */
export async function readAsDataUrl(src: string): Promise<string> {
  const response = await fetch(src);
  if (!response.ok) throw new Error(t('page_imageReadStatus', String(response.status)));
  const blob = await response.blob();
  if (blob.size * 1.4 > MAX_DATA_URL_CHARS) throw new Error(t('page_imageTooLarge'));
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(new Error(t('page_imageUnreadable')));
    reader.readAsDataURL(blob);
  });
}

export interface MediaOptions {
  hideUntilChecked: boolean;
  failMode: FailMode;
  /** Sends one image to the background and waits for its result. */
  check(report: ImageReport): Promise<ImageResult>;
  /** A ref for the element (shared with text blocks, so verdicts find it). */
  refOf(el: Element): string;
  /** The text around the element. */
  contextOf(el: Element): string;
  /** Called with a flagged or unchecked image's result. */
  onResult(el: Element, result: ImageResult): void;
}

interface MediaState {
  /** The source last sent (or being sent). */
  checked?: string;
  inView: boolean;
  rect?: Size;
  busy: boolean;
}

export class MediaWatcher {
  private readonly state = new WeakMap<Element, MediaState>();
  private readonly queue: Element[] = [];
  private inFlight = 0;
  private stopped = false;
  private readonly io: IntersectionObserver;
  private readonly onLoad = (event: Event) =>
    measure(() => {
      const target = event.target as Element | null;
      if (target && target.localName === 'img' && this.state.has(target)) this.evaluate(target);
    }, 'image-load');

  constructor(private readonly options: MediaOptions) {
    this.io = new IntersectionObserver((entries) => measure(() => this.onEntries(entries), 'image-view'), {
      rootMargin: '100% 0px',
    });
    document.addEventListener('load', this.onLoad, { capture: true, passive: true });
    document.addEventListener('error', this.onLoad, { capture: true, passive: true });
  }

  /** An image, video or element with a background image the walk found (or whose source changed). */
  consider(el: Element): void {
    if (this.stopped) return;
    const existing = this.state.get(el);
    if (existing) {
      this.evaluate(el);
      return;
    }
    if (
      el.localName !== 'img' &&
      el.localName !== 'video' &&
      !backgroundUrl(getComputedStyle(el).backgroundImage)
    )
      return;
    this.state.set(el, { inView: false, busy: false });
    if (this.options.hideUntilChecked) el.setAttribute(IMAGE_ATTRIBUTE, 'pending');
    this.io.observe(el);
  }

  /** For the walk: elements other than img/video are candidates only with a background image. */
  considerBackground(el: Element): void {
    // The box's size first: reading it (layout is up to date by then) costs far less than a computed style, and
    // most blocks and links are too small for a background image that counts.
    if (el.clientWidth < MIN_BACKGROUND_WIDTH || el.clientHeight < MIN_BACKGROUND_HEIGHT) return;
    if (this.state.has(el)) return;
    const value = getComputedStyle(el).backgroundImage;
    if (value && value !== 'none' && value.includes('url(')) this.consider(el);
  }

  /** Forgets what was checked (a new page state); elements stay observed. */
  reset(): void {
    this.queue.length = 0;
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.io.disconnect();
    document.removeEventListener('load', this.onLoad, { capture: true });
    document.removeEventListener('error', this.onLoad, { capture: true });
  }

  private onEntries(entries: IntersectionObserverEntry[]): void {
    for (const entry of entries) {
      const state = this.state.get(entry.target);
      if (!state) continue;
      state.inView = entry.isIntersecting;
      state.rect = { width: entry.boundingClientRect.width, height: entry.boundingClientRect.height };
      this.evaluate(entry.target);
    }
  }

  private done(el: Element): void {
    if (this.options.hideUntilChecked) el.setAttribute(IMAGE_ATTRIBUTE, 'done');
  }

  private evaluate(el: Element): void {
    const state = this.state.get(el);
    if (!state?.rect || state.busy) return;
    const source = mediaSource(el);
    if (source === 'loading') return;
    if (!source || isDecorative(el, state.rect) || !isBigEnough(source, state.rect)) {
      this.done(el);
      return;
    }
    if (state.checked === source.src) return;
    if (!state.inView) {
      if (this.options.hideUntilChecked) el.setAttribute(IMAGE_ATTRIBUTE, 'pending');
      return;
    }
    if (this.options.hideUntilChecked) el.setAttribute(IMAGE_ATTRIBUTE, 'pending');
    state.busy = true;
    this.queue.push(el);
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.inFlight < IN_FLIGHT && this.queue.length > 0) {
      const el = this.queue.shift()!;
      this.inFlight++;
      void this.run(el).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async run(el: Element): Promise<void> {
    const state = this.state.get(el);
    const source = mediaSource(el);
    if (!state || !source || source === 'loading' || !el.isConnected) {
      if (state) state.busy = false;
      return;
    }
    let result: ImageResult;
    try {
      const src = source.src.startsWith('blob:') ? await readAsDataUrl(source.src) : source.src;
      if (!/^(https?:|data:)/i.test(src)) result = { status: 'skipped', reason: t('page_imageScheme') };
      else if (src.length > MAX_DATA_URL_CHARS)
        result = { status: 'skipped', reason: t('page_imageTooLarge') };
      else {
        const report: ImageReport = {
          ref: this.options.refOf(el),
          src,
          alt: altOf(el),
          context: [captionOf(el), this.options.contextOf(el)].filter(Boolean).join(' — '),
          visible: state.inView,
        };
        stats.imagesChecked++;
        result = await retryOnce(() => this.options.check(report));
      }
    } catch (err) {
      result = { status: 'error', reason: err instanceof Error ? err.message : String(err) };
    }
    if (this.stopped) return;
    measure(() => {
      state.busy = false;
      state.checked = source.src;
      if (result.status === 'error') {
        noteImageError(result.reason);
        if (this.options.hideUntilChecked && this.options.failMode === 'closed') {
          markUnchecked(el);
          this.options.onResult(el, result);
        }
      } else if (result.status === 'flagged') this.options.onResult(el, result);
      this.done(el);
      // The source may have changed while it was being checked.
      const now = mediaSource(el);
      if (now && now !== 'loading' && now.src !== source.src) this.evaluate(el);
    });
  }
}

/** Image failures are the endpoint's or the network's, not the script's: kept apart from `stats.errors`. */
export const imageErrors: string[] = [];

function noteImageError(reason: string): void {
  imageErrors.push(reason.slice(0, 200));
  if (imageErrors.length > 10) imageErrors.shift();
}
