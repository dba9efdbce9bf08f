/**
 * One frame's page scanning session: walks the page once in time slices, then follows its changes. A
 * MutationObserver only records which nodes changed; the work happens later, in slices, on the blocks around
 * them, and blocks already reported are not entered again — so infinite scroll and live feeds send only new or
 * changed blocks. Blocks are sent viewport first. Images go through `MediaWatcher`. A new URL (SPA navigation)
 * or `rescan()` starts a fresh page state.
 */

import type { NotCheckedReason } from '@/lib/engine/types';
import type {
  BlockReport,
  ImageReport,
  ImageResult,
  InactiveReason,
  PageConfig,
  PageVerdict,
} from '@/utils/messages';
import { MAX_CHARS_PER_PAGE } from '@/utils/protocol/page';
import { ACTION_ATTRIBUTE, applyVerdict, clearMarks } from './enforce';
import {
  hasLetters,
  isReadableRoot,
  nearestBlock,
  type WalkHooks,
  walkBlocks,
  withoutMarkup,
} from './extract';
import { LabelLayer } from './labels';
import { MediaWatcher } from './media';
import { measure, noteError, retryOnce, SliceRunner, stats } from './slices';
import { ViewportWatch } from './viewport';

export interface Transport {
  /** `unchecked`: characters left unsent by `MAX_CHARS_PER_PAGE` in this page state, when that changed. */
  sendBlocks(
    url: string,
    blocks: BlockReport[],
    unchecked?: number,
  ): Promise<{ accepted: number; inactive?: InactiveReason }>;
  checkImage(url: string, image: ImageReport): Promise<ImageResult>;
  /** The frame's scan could not start or stopped (`reason`), or runs again (`null`). */
  notChecked(url: string, reason: NotCheckedReason | null): Promise<void>;
}

/**
 * Per-element state lives in properties of this script's own wrappers of the elements (a content script's
 * wrappers are its own: the page cannot see or set them), not in WeakMaps: on a page with tens of thousands of
 * blocks, weak tables keyed by freshly made wrappers made every young-generation garbage collection slow (87 ms
 * pauses on 200,000 nodes), inside the page's tasks.
 */
const KNOWN = Symbol('guardlens.known');
const REF = Symbol('guardlens.ref');
type Tracked = Element & { [KNOWN]?: Known; [REF]?: string };

interface Known {
  /** The page state it was seen in (`fresh()` starts a new one). */
  epoch: number;
  /** The own text last seen. */
  text: string;
  /** How often it was sent (a block that keeps changing — a ticker — is not sent forever). */
  sends: number;
  /** Characters of its text counted as unchecked (not sent: the page state's text limit was reached). */
  left?: number;
  /** When it was last sent (`Date.now()`). */
  sentAt?: number;
  /** Its current text was not sent yet: it waits for its late send (`LATE_SEND_MS`). */
  pending?: boolean;
  /** The timer that brings that send. */
  lateTimer?: ReturnType<typeof setTimeout>;
}

/**
 * A block whose text keeps changing (a ticker, live scores) is sent this often per page state at once; after that
 * its latest text is sent at most once per `LATE_SEND_MS`, so what it ends up showing is still checked (a page
 * cannot change a paragraph a dozen times and then show anything unchecked) while a ticker costs little.
 */
export const MAX_SENDS_PER_BLOCK = 12;
export const LATE_SEND_MS = 10_000;
/** Refs of elements that are gone are swept once there are this many (and then at twice the live count). */
const REF_SWEEP_AT = 5_000;
/** A frame smaller than this (CSS pixels) on either side shows nothing a person reads: pixels, empty ad slots. */
export const MIN_FRAME_SIDE = 24;
/** Changes are gathered this long before they are looked at. */
export const MUTATION_DELAY_MS = 120;
/** Blocks per message. */
export const BATCH = 250;
const CONTEXT_CHARS = 300;
/** A hidden tab renders no frames: start anyway after this long. */
const FIRST_FRAME_WAIT_MS = 1000;
/** A walk that failed is tried once more after this long (a frame removed under it); blocks it sent are skipped. */
const WALK_RETRY_MS = 500;
const OBSERVED_ATTRIBUTES = ['class', 'style', 'hidden', 'open', 'src', 'srcset', 'poster'];
const MEDIA_ATTRIBUTES = new Set(['src', 'srcset', 'poster']);

export class PageSession {
  /** The page state: `fresh()` starts a new one, in which every block is new. */
  private epoch = 0;
  private readonly dirtyBlocks = new Set<Element>();
  /** Elements by ref, for verdicts; refs of elements no longer in the page are swept now and then. */
  private readonly refs = new Map<string, Element>();
  private readonly names = new WeakMap<Element, string[]>();
  private readonly flagged = new WeakSet<Element>();
  private readonly outbox = new Map<Element, BlockReport>();
  /** Which queued blocks are in view: asked as each is queued, read when the batch is sent. */
  private readonly viewport = new ViewportWatch();
  private pendingNodes = new Set<Node>();
  private mutationTimer: ReturnType<typeof setTimeout> | undefined;
  private observer: MutationObserver | null = null;
  private observedRoots = new WeakSet<Node>();
  /** Frames without a URL of their own (`about:blank`, `srcdoc`) this session listens to, and their labels. */
  private readonly frames = new WeakSet<Element>();
  /** Of those, the ones that came near the viewport large enough to show something: only these are entered. */
  private readonly framesShown = new WeakSet<Element>();
  private frameObserver: IntersectionObserver | null = null;
  private walkedFrameDocs = new WeakSet<Document>();
  private readonly frameLabels = new Map<Document, LabelLayer>();
  private readonly listeners = new AbortController();
  /** Timers of late sends (`sendLater`), cleared when the session stops. */
  private readonly lateTimers = new Set<ReturnType<typeof setTimeout>>();
  private readonly runner: SliceRunner;
  private media: MediaWatcher | null = null;
  private nextRef = 1;
  private refSweepAt = REF_SWEEP_AT;
  /** Characters sent in this page state (`MAX_CHARS_PER_PAGE`). */
  private sentChars = 0;
  /** Characters left out by that limit in this page state, and the figure last reported (-1: report again). */
  private unchecked = 0;
  private uncheckedSent = 0;
  private running = false;
  private stopped = false;
  private sending: Promise<void> = Promise.resolve();
  private readonly hooks: WalkHooks;
  /** An error stopped a walk in this page state, and was reported (the popup says the page was not checked). */
  private failed = false;
  /** Roots whose walk failed once in this page state and were walked again. */
  private retried = new WeakSet<Element>();
  /** The root of the walk that ran last (the one that threw, when a walk throws). */
  private walking: Element | null = null;

  constructor(
    private readonly config: PageConfig,
    private readonly transport: Transport,
    private readonly labels: LabelLayer,
    /** How long to wait for the viewport check of new blocks (a hidden tab renders no frames). */
    private readonly viewportWaitMs = 800,
    /** How long a block past `MAX_SENDS_PER_BLOCK` waits between sends (tests shorten it). */
    private readonly lateSendMs = LATE_SEND_MS,
  ) {
    this.runner = new SliceRunner(
      () => this.onIdle(),
      undefined,
      () => this.onWalkError(),
    );
    this.hooks = {
      isKnown: (el) => this.knownOf(el) !== undefined && !this.dirtyBlocks.has(el),
      onShadowRoot: (root) => this.observe(root),
      onFrame: (frame) => this.considerFrame(frame),
    };
    if (config.scanImages) {
      this.hooks.onMedia = (el) => this.media?.consider(el);
      this.hooks.onElement = (el) => this.media?.considerBackground(el);
    }
  }

  get started(): boolean {
    return this.running;
  }

  /** The element a reported `ref` stands for, while it is in the page (`page:reveal`). */
  elementOf(ref: string): Element | undefined {
    const element = this.refs.get(ref);
    return element?.isConnected ? element : undefined;
  }

  /** Starts scanning (again, from a fresh page state, when already running). */
  start(): void {
    if (this.stopped) return;
    if (this.running) {
      this.fresh();
      return;
    }
    this.running = true;
    stats.scanning = true;
    stats.idle = false; // until the first walk is done
    this.media = this.newMedia();
    this.observer = new MutationObserver((records) => measure(() => this.record(records), 'mutations'));
    this.observe(document.documentElement);
    // After the page's first frame: style and layout are then up to date, and the walk does not force them.
    let begun = false;
    const begin = () => {
      if (begun || this.stopped) return;
      begun = true;
      clearTimeout(fallback);
      this.walkFromTop();
    };
    const fallback = setTimeout(begin, FIRST_FRAME_WAIT_MS);
    requestAnimationFrame(() => setTimeout(begin, 0));
  }

  /** A fresh page state: every block and image is reported again (verdicts already known come from the cache). */
  fresh(): void {
    if (!this.running || this.stopped) return;
    this.epoch++;
    this.walkedFrameDocs = new WeakSet();
    this.retried = new WeakSet();
    if (this.failed) {
      this.failed = false;
      void this.transport.notChecked(location.href, null).catch(noteError);
    }
    this.sentChars = 0;
    this.unchecked = 0;
    if (this.uncheckedSent !== 0) this.uncheckedSent = -1;
    this.dirtyBlocks.clear();
    this.outbox.clear();
    this.viewport.clear();
    this.pendingNodes.clear();
    this.media?.stop();
    this.media = this.newMedia();
    this.walkFromTop();
  }

  /** Stops scanning; flags and labels stay. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.running = false;
    stats.scanning = false;
    stats.idle = true;
    clearTimeout(this.mutationTimer);
    for (const timer of this.lateTimers) clearTimeout(timer);
    this.lateTimers.clear();
    this.observer?.disconnect();
    this.observer = null;
    this.frameObserver?.disconnect();
    this.frameObserver = null;
    this.listeners.abort();
    this.runner.stop();
    this.media?.stop();
    this.media = null;
    this.outbox.clear();
    this.viewport.disconnect();
    this.pendingNodes.clear();
  }

  /** Enforces verdicts from the background on the elements they name. */
  applyVerdicts(verdicts: readonly PageVerdict[]): void {
    for (const verdict of verdicts) {
      const element = this.refs.get(verdict.ref);
      if (element?.isConnected) this.flag(element, verdict);
    }
    this.labels.schedule();
    for (const layer of this.frameLabels.values()) layer.schedule();
  }

  /** Marks an element flagged, with its label. */
  flag(element: Element, verdict: Pick<PageVerdict, 'categories' | 'names' | 'action'>): void {
    if (!applyVerdict(element, verdict)) return;
    if (!this.flagged.has(element)) stats.flagged++;
    this.flagged.add(element);
    const names = this.names.get(element) ?? [];
    for (const name of verdict.names) if (!names.includes(name)) names.push(name);
    this.names.set(element, names);
    const action = element.getAttribute(ACTION_ATTRIBUTE);
    const labels = this.labelsFor(element);
    if (action === 'blur' || action === 'label') labels.show(element, action, names);
    else labels.remove(element);
  }

  private newMedia(): MediaWatcher | null {
    if (!this.config.scanImages) return null;
    return new MediaWatcher({
      hideUntilChecked: this.config.hideImagesUntilChecked,
      failMode: this.config.failMode,
      check: (report) => this.transport.checkImage(location.href, report),
      refOf: (el) => this.refFor(el),
      contextOf: (el) => this.contextOf(el),
      onResult: (el, result) => {
        if (result.status === 'flagged') this.flag(el, result.verdict);
        else if (result.status === 'error') this.labelsFor(el).show(el, 'unchecked', []);
      },
    });
  }

  /** The label layer of the element's document (a frame without a URL has its own). */
  private labelsFor(element: Element): LabelLayer {
    const doc = element.ownerDocument;
    if (doc === document) return this.labels;
    let layer = this.frameLabels.get(doc);
    if (!layer) {
      layer = new LabelLayer(doc);
      this.frameLabels.set(doc, layer);
    }
    return layer;
  }

  /**
   * A frame the walk passed. Frames with a URL have their own content script; a frame without one
   * (`about:blank`, `srcdoc`: ads and widgets a script fills in, where no content script runs) is walked from
   * here when its document is reachable (same origin), now and whenever it loads again.
   */
  private considerFrame(frame: HTMLIFrameElement | HTMLFrameElement): void {
    if (this.framesShown.has(frame)) {
      this.enterFrame(frame);
      return;
    }
    if (this.frames.has(frame)) return;
    this.frames.add(frame);
    frame.addEventListener(
      'load',
      () => measure(() => this.framesShown.has(frame) && this.enterFrame(frame), 'frame'),
      { passive: true, signal: this.listeners.signal },
    );
    // Reaching into a frame's document starts this script's world in it, which costs a few milliseconds a frame:
    // a frame is entered once it comes near the viewport, and never while it is too small to show anything (the
    // empty and pixel-sized frames ad scripts leave around).
    this.frameObserver ??= new IntersectionObserver(
      (entries) => measure(() => this.onFrameEntries(entries), 'frame'),
      { rootMargin: '100% 0px' },
    );
    this.frameObserver.observe(frame);
  }

  private onFrameEntries(entries: IntersectionObserverEntry[]): void {
    for (const entry of entries) {
      const { width, height } = entry.boundingClientRect;
      if (!entry.isIntersecting || width < MIN_FRAME_SIDE || height < MIN_FRAME_SIDE) continue;
      const frame = entry.target as HTMLIFrameElement | HTMLFrameElement;
      this.frameObserver?.unobserve(frame);
      this.framesShown.add(frame);
      this.enterFrame(frame);
    }
  }

  private enterFrame(frame: HTMLIFrameElement | HTMLFrameElement): void {
    if (this.stopped || !frame.isConnected) return;
    const doc = frameDocument(frame);
    if (!doc) return;
    this.observe(doc);
    const body = doc.body;
    if (!body || this.walkedFrameDocs.has(doc)) return;
    this.walkedFrameDocs.add(doc);
    this.dirtyBlocks.add(body);
    this.runner.add(this.walk(body));
  }

  private observe(root: Node): void {
    if (!this.observer || this.observedRoots.has(root)) return;
    this.observedRoots.add(root);
    this.observer.observe(root, {
      childList: true,
      subtree: true,
      characterData: true,
      attributes: true,
      attributeFilter: OBSERVED_ATTRIBUTES,
    });
  }

  private walkFromTop(): void {
    // Once the walk has gone past the viewport, the blocks it found in view are sent: on a long page they then
    // need not wait for the walk to reach the end. The rest follows when the walk is done, in one batch, so the
    // page text is packed as before.
    this.viewport.whenPassed(() => {
      if (!this.stopped && this.runner.busy) this.flush((element) => this.viewport.reportedInView(element));
    });
    const top = document.body ?? document.documentElement;
    this.dirtyBlocks.add(top);
    this.runner.add(this.walk(top));
  }

  /** The observer callback: note what changed, nothing more. */
  private record(records: MutationRecord[]): void {
    for (const record of records) {
      const target = record.target;
      if (record.type === 'attributes') {
        if (MEDIA_ATTRIBUTES.has(record.attributeName ?? '')) {
          const tag = (target as Element).localName;
          if (tag === 'img' || tag === 'video') this.media?.consider(target as Element);
          continue;
        }
      }
      this.pendingNodes.add(target);
    }
    if (this.pendingNodes.size > 0 && this.mutationTimer === undefined) {
      this.mutationTimer = setTimeout(() => {
        this.mutationTimer = undefined;
        this.runner.add(this.processChanges());
      }, MUTATION_DELAY_MS);
    }
  }

  private *processChanges(): Generator<void, void, void> {
    const nodes = this.pendingNodes;
    this.pendingNodes = new Set();
    const roots: Element[] = [];
    let count = 0;
    for (const node of nodes) {
      if (++count % 64 === 0) yield;
      if (!node.isConnected) continue;
      const block = nearestBlock(node);
      if (block && !this.dirtyBlocks.has(block)) {
        this.dirtyBlocks.add(block);
        roots.push(block);
      }
    }
    for (const root of roots) {
      if (!this.dirtyBlocks.has(root)) continue; // walked as part of a dirty ancestor
      if (!isReadableRoot(root)) {
        this.dirtyBlocks.delete(root);
        continue;
      }
      yield* this.walk(root);
    }
    this.labels.schedule();
  }

  /** Hands back to the slice runner at the walk's checkpoints (every few dozen nodes), not after every block. */
  private *walk(root: Element): Generator<void, void, void> {
    this.walking = root;
    for (const found of walkBlocks(root, this.hooks)) {
      if (found) this.found(found.element, found.text);
      else {
        yield;
        this.walking = root;
      }
    }
  }

  /**
   * A walk threw (a page that breaks what the walk reads, a frame taken away under it): what it had left is not
   * checked. The popup is told at once, so the page is never shown as clean; the walk is tried once more a moment
   * later (blocks it already sent are skipped), and what it reaches then is checked.
   */
  private onWalkError(): void {
    if (this.stopped) return;
    const root = this.walking;
    if (!this.failed) {
      this.failed = true;
      void this.transport.notChecked(location.href, 'scan-error').catch(noteError);
    }
    if (!root || this.retried.has(root)) return;
    this.retried.add(root);
    const timer = setTimeout(() => {
      this.lateTimers.delete(timer);
      if (this.stopped || !root.isConnected) return;
      this.dirtyBlocks.add(root);
      this.runner.add(this.walk(root));
    }, WALK_RETRY_MS);
    this.lateTimers.add(timer);
  }

  private found(element: Element, text: string): void {
    this.dirtyBlocks.delete(element);
    let known = this.knownOf(element);
    if (!known) {
      known = { epoch: this.epoch, text: '', sends: 0 };
      (element as Tracked)[KNOWN] = known;
    }
    if (known.text === text && !known.pending) return;
    const changed = known.text !== '' && known.text !== text;
    known.text = text;
    if (changed && this.flagged.has(element)) {
      // Its verdict was for other text: the new text gets its own.
      this.flagged.delete(element);
      this.names.delete(element);
      clearMarks(element);
      this.labelsFor(element).remove(element);
    }
    if (!this.config.scanText) return;
    if (known.sends >= MAX_SENDS_PER_BLOCK && this.sendLater(element, known)) return;
    // Escaped markup a script printed (often with a new cache-busting number on every load) is not sent.
    const readable = withoutMarkup(text);
    if (!hasLetters(readable)) return;
    if (this.sentChars + readable.length > MAX_CHARS_PER_PAGE) {
      this.unchecked += readable.length - (known.left ?? 0);
      known.left = readable.length;
      return;
    }
    this.sentChars += readable.length;
    known.sends++;
    known.sentAt = Date.now();
    this.outbox.set(element, { ref: this.refFor(element), text: readable, visible: false });
    this.viewport.watch(element);
    if (this.outbox.size >= BATCH) this.flush();
  }

  /**
   * For a block past `MAX_SENDS_PER_BLOCK`: true when its text must wait for its late send (a timer then walks it
   * again, and its text then is sent), false when that time has come.
   */
  private sendLater(element: Element, known: Known): boolean {
    const wait = (known.sentAt ?? 0) + this.lateSendMs - Date.now();
    if (wait <= 0) {
      known.pending = false;
      return false;
    }
    known.pending = true;
    if (known.lateTimer === undefined) {
      const timer = setTimeout(() => {
        this.lateTimers.delete(timer);
        known.lateTimer = undefined;
        if (this.stopped || this.knownOf(element) !== known || !isReadableRoot(element)) return;
        this.dirtyBlocks.add(element);
        this.runner.add(this.walk(element));
      }, wait + 5);
      known.lateTimer = timer;
      this.lateTimers.add(timer);
    }
    return true;
  }

  private refFor(element: Element): string {
    const tracked = element as Tracked;
    let ref = tracked[REF];
    if (!ref) {
      ref = `g${this.nextRef++}`;
      tracked[REF] = ref;
    }
    if (this.refs.get(ref) !== element) {
      this.refs.set(ref, element);
      if (this.refs.size >= this.refSweepAt) this.sweepRefs();
    }
    return ref;
  }

  /** What this page state knows of a block, if it saw it. */
  private knownOf(element: Element): Known | undefined {
    const known = (element as Tracked)[KNOWN];
    return known?.epoch === this.epoch ? known : undefined;
  }

  /**
   * Forgets the refs of elements no longer in the page (a page replacing its elements), so they can be collected;
   * one that comes back gets its ref again when it is next reported.
   */
  private sweepRefs(): void {
    for (const [ref, element] of this.refs) if (!element.isConnected) this.refs.delete(ref);
    this.refSweepAt = Math.max(REF_SWEEP_AT, this.refs.size * 2);
  }

  private contextOf(element: Element): string {
    const block = nearestBlock(element.parentNode ?? element);
    const text = block ? (this.knownOf(block)?.text ?? '') : '';
    return text.length > CONTEXT_CHARS ? `${text.slice(0, CONTEXT_CHARS - 1)}…` : text;
  }

  private onIdle(): void {
    if (this.outbox.size > 0 || this.unchecked !== this.uncheckedSent) this.flush();
  }

  /** Sends the queued blocks (`only`: those it accepts; the others stay queued). */
  private flush(only?: (element: Element) => boolean): void {
    let entries = [...this.outbox];
    if (only) {
      entries = entries.filter(([element]) => only(element));
      if (entries.length === 0) return;
      for (const [element] of entries) this.outbox.delete(element);
    } else this.outbox.clear();
    let unchecked: number | undefined;
    if (this.unchecked !== this.uncheckedSent) {
      unchecked = this.unchecked;
      this.uncheckedSent = unchecked;
    }
    // The URL now: after a same-document navigation, changes are reported under the new one.
    const url = location.href;
    this.sending = this.sending.then(() => this.send(url, entries, unchecked)).catch(noteError);
  }

  private async send(url: string, entries: [Element, BlockReport][], unchecked?: number): Promise<void> {
    const inView = await this.viewport.inView(
      entries.map(([element]) => element),
      this.viewportWaitMs,
    );
    const ordered =
      measure(() => {
        const first: BlockReport[] = [];
        const rest: BlockReport[] = [];
        for (const [element, report] of entries) {
          if (inView.has(element)) first.push({ ...report, visible: true });
          else rest.push(report);
        }
        return [...first, ...rest];
      }, 'send') ?? [];
    // Nothing new to send but a new count of what was left out: that alone.
    for (let i = 0; i < ordered.length || (i === 0 && unchecked !== undefined); i += BATCH) {
      if (this.stopped) return;
      const batch = ordered.slice(i, i + BATCH);
      const left = i === 0 ? unchecked : undefined;
      const answer = await retryOnce(async () =>
        measure(() => this.transport.sendBlocks(url, batch, left), 'send'),
      );
      if (!answer) {
        // The count did not arrive: it goes again with the next send.
        if (left !== undefined && this.uncheckedSent === left) this.uncheckedSent = -1;
        return;
      }
      stats.blocksSent += batch.length;
      if (answer.inactive) {
        this.stop();
        return;
      }
    }
  }
}

/** The document of a frame without a URL of its own that this script can reach (same origin), or null. */
export function frameDocument(frame: HTMLIFrameElement | HTMLFrameElement): Document | null {
  const src = frame.getAttribute('src');
  const empty = !frame.hasAttribute('srcdoc') && (!src || src === 'about:blank');
  // A frame with a URL of its own has its own content script: its document (often another site's, where even
  // asking costs) is not touched.
  if (!empty && !frame.hasAttribute('srcdoc')) return null;
  let doc: Document | null = null;
  try {
    doc = frame.contentDocument;
  } catch {
    return null;
  }
  if (!doc) return null;
  const url = doc.URL;
  if (url === 'about:blank' || url === 'about:srcdoc') return doc;
  // A script that wrote into an empty frame (`document.open()`) gave its document the writer's URL; no content
  // script started there. A frame that navigated to a page of its own has its own script.
  return empty && url === document.URL ? doc : null;
}
