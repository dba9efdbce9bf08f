/**
 * Reply checks: watches the conversation, and once a reply has finished (no stop control or streaming marker, text
 * unchanged for a second: `lib/chatbots/replies.ts`) asks the background to check it as the Agent turn, with the
 * user turn before it (or the last prompt sent) as the User turn. A flagged reply is marked like flagged page
 * content (`enforce.ts`: `data-guardlens="flagged"`, `data-guardlens-categories`, blurred by default).
 */
import { ReplyTracker } from '@/lib/chatbots/replies';
import type { ChatbotSite } from '@/lib/chatbots/sites';
import { cleanText, readNodeText } from '@/lib/chatbots/text';
import type { PageVerdict, ReplyCheckResult } from '@/utils/messages';
import { applyVerdict, clearMarks } from '../content/enforce';
import { findReplies, isLive, isStreaming, stopShowing, userTurnBefore } from './dom';

export interface ReplyTransport {
  reply(data: { ref: string; text: string; prompt: string; visible: boolean }): Promise<ReplyCheckResult>;
}

export interface ReplyWatcherOptions {
  doc: Document;
  site: ChatbotSite;
  transport: ReplyTransport;
  /** The last prompt the guard released, for replies whose user turn cannot be found. */
  lastPrompt(): string;
  now?: () => number;
  /** Shortest time between two looks at the page while it changes. Default 300 ms. */
  throttleMs?: number;
  stableMs?: number;
  apply?(element: Element, verdict: PageVerdict): void;
}

/** Reply check failures worth another try: the tab navigated (SPA route) or the endpoint was briefly unavailable. */
const RETRYABLE = new Set(['dropped', 'rate-limited', 'circuit-open', 'offline', 'timeout']);
const RETRY_DELAY_MS = 10_000;
/** Attributes whose change can mean a reply started or stopped streaming. */
const STATE_ATTRIBUTES = [
  'data-is-streaming',
  'aria-busy',
  'data-testid',
  'aria-label',
  'class',
  'disabled',
  'hidden',
];

export class ReplyWatcher {
  private readonly tracker: ReplyTracker<HTMLElement>;
  private observer: MutationObserver | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerAt = 0;
  private lastScan = 0;
  private readonly refs = new WeakMap<HTMLElement, string>();
  private readonly flagged = new WeakSet<HTMLElement>();
  private refSeq = 0;
  private readonly now: () => number;

  constructor(private readonly o: ReplyWatcherOptions) {
    this.now = o.now ?? (() => Date.now());
    this.tracker = new ReplyTracker<HTMLElement>({ stableMs: o.stableMs });
  }

  get running(): boolean {
    return this.observer !== null;
  }

  start(): void {
    if (this.observer) return;
    this.observer = new MutationObserver(() => this.schedule(this.lastScan + (this.o.throttleMs ?? 300)));
    this.observer.observe(this.o.doc.documentElement, {
      childList: true,
      subtree: true,
      characterData: true,
      // Streaming markers and stop controls that change state in place.
      attributes: true,
      attributeFilter: STATE_ATTRIBUTES,
    });
    this.schedule(this.now());
  }

  stop(): void {
    this.observer?.disconnect();
    this.observer = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(at: number): void {
    if (!this.observer) return;
    const when = Math.max(at, this.now());
    if (this.timer && this.timerAt <= when) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = when;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.scan();
    }, when - this.now());
  }

  /** Looks at every reply now; checks those that are due. */
  scan(): void {
    const { doc, site } = this.o;
    this.lastScan = this.now();
    const replies = findReplies(doc, site);
    const stop = replies.length > 0 && stopShowing(site, doc);
    const sightings = replies.map((el) => ({
      key: el,
      text: cleanText(readNodeText(el)),
      streaming: isStreaming(el, site, stop),
    }));
    for (const { key, text } of this.tracker.observe(sightings, this.now())) void this.check(key, text);
    const due = this.tracker.nextDueAt();
    if (due !== null) this.schedule(due);
  }

  private async check(el: HTMLElement, text: string): Promise<void> {
    const { doc, site } = this.o;
    let ref = this.refs.get(el);
    if (!ref) {
      ref = `gl-reply-${++this.refSeq}`;
      this.refs.set(el, ref);
    }
    const prompt = cleanText(userTurnBefore(el, site, doc) ?? this.o.lastPrompt());
    const rect = el.getBoundingClientRect();
    const view = doc.defaultView;
    const visible = isLive(el, site) && rect.bottom > 0 && rect.top < (view?.innerHeight ?? 800);
    let result: ReplyCheckResult;
    try {
      result = await this.o.transport.reply({ ref, text, prompt, visible });
    } catch {
      return; // the background is gone (extension reloaded): nothing to mark
    }
    if (!el.isConnected || cleanText(readNodeText(el)) !== text) return; // changed meanwhile: checked again later
    if (result.status === 'unsafe') {
      (this.o.apply ?? applyVerdict)(el, result.verdict);
      this.flagged.add(el);
    } else if (result.status === 'safe' && this.flagged.has(el)) {
      // A reply that was flagged and then rewritten into something safe loses its mark (through enforce.ts, which
      // otherwise puts back marks that disappear).
      clearMarks(el);
      if (el.getAttribute('title')?.startsWith('Guardlens:')) el.removeAttribute('title');
      this.flagged.delete(el);
    } else if (result.status === 'error') {
      if (RETRYABLE.has(result.kind)) {
        // The page moved on (an SPA route change) or the endpoint was busy: check it again later.
        this.tracker.recheck(el, this.now(), result.kind === 'dropped' ? 0 : RETRY_DELAY_MS);
        const due = this.tracker.nextDueAt();
        if (due !== null) this.schedule(due);
      } else {
        console.warn(`Guardlens could not check a reply (${result.kind}): ${result.message}`);
      }
    }
  }
}
