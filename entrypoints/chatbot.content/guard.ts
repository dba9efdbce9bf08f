/**
 * The prompt guard on one page: it catches a send (Enter, Cmd/Ctrl+Enter, the send control, a form submit) in the
 * capture phase on `window` before the site sees it, reads the prompt, asks the background for a verdict and then
 * releases the send exactly once, unchanged, or holds it behind a panel (`lib/chatbots/decide.ts` decides).
 *
 * - Nothing the person typed is changed: the composer is only read. A held prompt stays in the composer.
 * - Release replays what the person did: a synthetic Enter on the composer (the site's own handler sends; if it
 *   ignores a synthetic key, the send control is clicked instead), a click on the send control, or the form's
 *   submit. The replay runs with `replaying` set and is never intercepted again; a follow-up the site makes on its
 *   own right after the replay (an asynchronous submit) passes once too, if the text is the approved one.
 * - IME composition never triggers a check (`lib/chatbots/keys.ts`). Shift+Enter passes untouched.
 * - A send whose text cannot be read (the send control was pressed, the composer reads empty) is not let through
 *   silently: the fail mode decides, with a message.
 * - If the text changes while it is being checked, the new text is checked instead.
 * - On sites the person added (generic detection), an Enter the site does not handle as a send is given back as
 *   the newline it was, and Enter is left alone in that composer from then on.
 * - After a release the guard watches that the site took it (the composer emptied or a stop control showed). If
 *   not (a site that ignores synthetic input), the person is told, and their own next send of that text passes.
 * - A send is checked at once, from the first keystroke the composer takes: the check does not wait for the
 *   background's hello (its answer carries the config), for the page's own scan or for the site's start-up. A
 *   heavy page that re-renders its composer while a check runs (hydration, a late app start) does not cancel it:
 *   the pill and the panel follow the composer there is now, and a release waits for the site to be able to send.
 * - Nothing is swallowed: every intercepted send ends sent, held behind a panel with its reason, or with a notice.
 *   Before the background has answered once, a failed check is held (fail closed), with the reason that
 *   Guardlens is not ready yet on this page and a Retry button.
 */
import type { PromptConfig } from '@/lib/chatbots/config';
import { type CheckOutcome, type Decision, decide } from '@/lib/chatbots/decide';
import { keyAction } from '@/lib/chatbots/keys';
import type { ChatbotSite } from '@/lib/chatbots/sites';
import { cleanText } from '@/lib/chatbots/text';
import type { PromptCheckResult } from '@/utils/protocol/prompt';
import {
  composerInForm,
  editableRoot,
  eventTarget,
  findSendControl,
  focusAtEnd,
  hasAttachments,
  isComposer,
  isControlDisabled,
  isLive,
  isOwnUi,
  isStopControl,
  readComposer,
  sendClickTarget,
  siteComposers,
  stopShowing,
} from './dom';
import type { Translate } from './i18n';
import { GuardUi } from './ui';

export interface PromptTransport {
  hello(): Promise<PromptConfig>;
  check(text: string, ref: string): Promise<PromptCheckResult>;
}

export interface PromptGuardOptions {
  win: Window;
  site: ChatbotSite;
  transport: PromptTransport;
  t: Translate;
  /** Aborted when the content script is invalidated: everything is removed. */
  signal: AbortSignal;
  now?: () => number;
  /** Called with every config the background sends (hello, checks, pushes). */
  onConfig?(config: PromptConfig): void;
  /** How long release waits for the site to take the send (a send control to become usable). Default 10 s. */
  releaseWaitMs?: number;
  /** Extra time given to the background beyond the config's limit before the guard gives up. Default 3000 ms. */
  transportGraceMs?: number;
  /** How long the site has to take a released send before the person is told. Default 3000 ms. */
  confirmMs?: number;
}

type Trigger =
  | { kind: 'key'; target: HTMLElement; init: KeyboardEventInit }
  | { kind: 'click'; control: HTMLElement }
  | { kind: 'submit'; form: HTMLFormElement; submitter: HTMLElement | null };

interface Send {
  composer: HTMLElement | null;
  trigger: Trigger;
  text: string;
  attachments: boolean;
}

interface Pending extends Send {
  id: number;
  state: 'checking' | 'held';
}

/** Extra time the content script gives the background beyond the config's own limit before it gives up. */
const TRANSPORT_GRACE_MS = 3000;
/** How long a follow-up send the site makes on its own after a release passes (with the approved text). */
const FOLLOW_UP_MS = 1500;
/** How long the site has to take a released send (clear the composer, show its stop control). */
const CONFIRM_MS = 3000;
/** How long a checked prompt the site did not take may be sent by the person without a second check. */
const PASS_NEXT_MS = 60_000;
/**
 * How long a release waits for the site to take the send: a heavy page may still be starting its app (no
 * handler on the composer yet, no send control) when the verdict comes.
 */
const RELEASE_WAIT_MS = 10_000;
/** How often the text may change under a check before the send is held (a composer that keeps rewriting itself). */
const MAX_RECHECKS = 3;
/** What applies while the background has not answered once: a failed check is held, with no "send anyway". */
const NOT_READY_CONFIG = { mode: 'block', failMode: 'closed', sendAnyway: false } as const;

function stop(event: Event): void {
  event.preventDefault();
  event.stopImmediatePropagation();
}

const TIMED_OUT = Symbol('timed out');
/** The background's own limit for a check until its config says otherwise. */
const DEFAULT_TIMEOUT_MS = 10_000;

export class PromptGuard {
  readonly ui: GuardUi;
  private config: PromptConfig | null = null;
  /** Requests that answer with a config are numbered; an answer older than the config in force is ignored. */
  private requestSeq = 0;
  private appliedSeq = 0;
  /** Checks waiting for their answer re-arm their time limit when a config arrives. */
  private readonly configWatchers = new Set<() => void>();
  private pending: Pending | null = null;
  private seq = 0;
  private refSeq = 0;
  private replaying = false;
  private approval: { text: string; until: number } | null = null;
  private passNext: { text: string; until: number } | null = null;
  private lastCompositionEnd = Number.NEGATIVE_INFINITY;
  private swallowKeyup: string | null = null;
  /** Composers (generic sites) where Enter turned out to be a newline. */
  private readonly enterIsNewline = new WeakSet<HTMLElement>();
  private readonly doc: Document;
  private readonly now: () => number;
  /** The last prompt released, for reply checks that cannot find their user turn. */
  lastPrompt = '';

  constructor(private readonly o: PromptGuardOptions) {
    this.doc = o.win.document;
    this.now = o.now ?? (() => Date.now());
    this.ui = new GuardUi(this.doc, o.t);
    // The composer was re-rendered or the page moved on: follow the composer there is now. Without one (the site
    // is rebuilding it) the pill and the panel stay where they are: the send in hand is never dropped for it.
    this.ui.onAnchorLost = () => siteComposers(this.doc, this.o.site)[0] ?? null;
    const opts = { capture: true, signal: o.signal };
    const w = o.win;
    w.addEventListener('keydown', (e) => this.onKeydown(e), opts);
    w.addEventListener('keyup', (e) => this.onKeyup(e), opts);
    w.addEventListener('click', (e) => this.onClick(e), opts);
    w.addEventListener('submit', (e) => this.onSubmit(e as SubmitEvent), opts);
    w.addEventListener('compositionend', () => (this.lastCompositionEnd = this.now()), opts);
    w.addEventListener('input', (e) => this.onInput(e), opts);
    o.signal.addEventListener('abort', () => this.ui.destroy(), { once: true });
    void this.refreshConfig();
  }

  /** Asks the background for the config in force (at start, and whenever it says the settings changed). */
  refreshConfig(): Promise<PromptConfig | null> {
    const seq = ++this.requestSeq;
    return this.o.transport.hello().then(
      (config) => {
        this.applyConfig(config, seq);
        return config;
      },
      () => null,
    );
  }

  private applyConfig(config: PromptConfig | undefined, seq: number): void {
    if (!config || seq < this.appliedSeq) return;
    this.appliedSeq = seq;
    this.config = config;
    for (const watcher of [...this.configWatchers]) watcher();
    this.o.onConfig?.(config);
  }

  /** Sends are intercepted while the config is unknown (answered at the first send) or says so. */
  private intercepting(): boolean {
    return this.config === null || (this.config.active && this.config.mode !== 'off');
  }

  // -- events --------------------------------------------------------------------------------------------------

  private onKeydown(e: KeyboardEvent): void {
    if (this.replaying || !this.intercepting()) return;
    if (e.key !== 'Enter' && e.code !== 'Enter' && e.code !== 'NumpadEnter') return;
    const root = editableRoot(eventTarget(e));
    if (!root) return;
    const action = keyAction(e, this.o.site.keys, this.now() - this.lastCompositionEnd);
    if (action === 'pass') return;
    if (!isComposer(root, this.o.site, this.doc)) return;
    if (action === 'swallow') {
      stop(e);
      return;
    }
    const plain = !e.ctrlKey && !e.metaKey;
    if (plain && this.enterIsNewline.has(root)) return;
    const init: KeyboardEventInit = {
      key: 'Enter',
      code: e.code || 'Enter',
      keyCode: 13,
      which: 13,
      ctrlKey: e.ctrlKey,
      metaKey: e.metaKey,
      shiftKey: false,
      altKey: false,
    };
    if (this.intercept(e, root, { kind: 'key', target: root, init })) this.swallowKeyup = e.code || e.key;
  }

  private onKeyup(e: KeyboardEvent): void {
    if (this.replaying || this.swallowKeyup === null) return;
    if ((e.code || e.key) !== this.swallowKeyup) return;
    this.swallowKeyup = null;
    stop(e);
  }

  private onClick(e: MouseEvent): void {
    if (this.replaying || !this.intercepting() || e.button !== 0) return;
    const target = eventTarget(e);
    if (!target || isOwnUi(target)) return;
    const hit = sendClickTarget(target, this.o.site, this.doc);
    if (!hit || isControlDisabled(hit.control)) return;
    this.intercept(e, hit.composer, { kind: 'click', control: hit.control });
  }

  private onSubmit(e: SubmitEvent): void {
    if (this.replaying || !this.intercepting()) return;
    const form = e.target;
    if (!(form instanceof HTMLFormElement)) return;
    const composer = composerInForm(form, this.o.site, this.doc);
    if (!composer) return;
    const submitter = e.submitter instanceof HTMLElement ? e.submitter : null;
    this.intercept(e, composer, { kind: 'submit', form, submitter });
  }

  private onInput(e: Event): void {
    const p = this.pending;
    if (p?.state !== 'held' || !p.composer) return;
    const target = eventTarget(e);
    if (target && p.composer.contains(target)) {
      // The person is editing the held prompt: the verdict no longer applies.
      this.pending = null;
      this.ui.hide();
    }
  }

  /** Decides whether to take over this send; returns true when the event was stopped. */
  private intercept(e: Event, composer: HTMLElement | null, trigger: Trigger): boolean {
    const text = composer ? cleanText(readComposer(composer)) : '';
    const attachments = composer ? hasAttachments(composer, this.o.site) : false;
    // Enter in an empty composer sends nothing on any site: not a send.
    if (trigger.kind === 'key' && !text && !attachments) return false;
    if (this.approval && this.now() <= this.approval.until && text === this.approval.text) {
      // The site's own follow-up to the send just released (e.g. an asynchronous submit): it passes, once.
      this.approval = null;
      return false;
    }
    if (this.passNext && e.isTrusted && this.now() <= this.passNext.until && text === this.passNext.text) {
      // The person sends again a prompt that was checked but that the site did not take from the guard.
      this.passNext = null;
      this.ui.hideNotice();
      return false;
    }
    stop(e);
    if (this.pending?.state === 'checking') return true; // one check at a time; this press is absorbed
    this.ui.hideNotice();
    void this.run({ composer, trigger, text, attachments });
    return true;
  }

  // -- checking ------------------------------------------------------------------------------------------------

  private async run(send: Send, rechecks = 0): Promise<void> {
    const id = ++this.seq;
    const pending: Pending = { ...send, id, state: 'checking' };
    this.pending = pending;
    const anchor = send.composer ?? (send.trigger.kind === 'click' ? send.trigger.control : null);
    if (anchor) this.ui.showChecking(anchor);
    // The config known now, if any: the check is not held back for the hello (its answer brings the config).
    const current = this.config;
    let outcome: CheckOutcome;
    if (!send.text) {
      outcome = send.attachments
        ? { kind: 'safe' }
        : { kind: 'failed', reason: 'unreadable', message: this.o.t('prompt_unreadable') };
    } else if (current && (!current.active || current.mode === 'off')) {
      outcome = { kind: 'skipped' };
    } else {
      outcome = await this.check(send.text);
    }
    // Replaced by a newer check of this send, or ended by the person (editing the held text, Edit, Send anyway).
    if (this.pending !== pending) return;
    // The person kept typing during the check: check what is there now.
    const composer = this.composerOf(send);
    if (composer && send.text) {
      const now = cleanText(readComposer(composer));
      if (now !== send.text) {
        if (!now) {
          // The person emptied the composer: there is nothing left to send.
          this.pending = null;
          this.ui.hide();
          return;
        }
        if (rechecks < MAX_RECHECKS) {
          void this.run({ ...send, composer, text: now }, rechecks + 1);
          return;
        }
        outcome = { kind: 'failed', reason: 'unreadable', message: this.o.t('prompt_unreadable') };
      }
    }
    if (!this.config && outcome.kind === 'failed' && outcome.reason !== 'unreadable') {
      // The background never answered on this page: say so, and hold the send (fail mode unknown: closed).
      outcome = { kind: 'failed', reason: 'unavailable', message: this.o.t('prompt_not_ready') };
    }
    this.apply(pending, decide(outcome, this.config ?? NOT_READY_CONFIG, send.attachments));
  }

  /** The composer a send came from, or the one the site shows now when it re-rendered it. */
  private composerOf(send: Send): HTMLElement | null {
    if (send.composer?.isConnected) return send.composer;
    if (!send.composer) return null;
    return siteComposers(this.doc, this.o.site)[0] ?? null;
  }

  /**
   * `promise`, or TIMED_OUT once the check's limit (the config's, plus the grace) has passed since `started`. The
   * limit follows the config: a hello that answers while the check runs sets it.
   */
  private within<T>(promise: Promise<T>, started: number): Promise<T | typeof TIMED_OUT> {
    const grace = this.o.transportGraceMs ?? TRANSPORT_GRACE_MS;
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const end = () => {
        clearTimeout(timer);
        this.configWatchers.delete(arm);
      };
      const arm = () => {
        clearTimeout(timer);
        const limit = (this.config?.timeoutMs ?? DEFAULT_TIMEOUT_MS) + grace;
        timer = setTimeout(
          () => {
            end();
            resolve(TIMED_OUT);
          },
          Math.max(0, started + limit - Date.now()),
        );
      };
      this.configWatchers.add(arm);
      arm();
      promise.then(
        (v) => {
          end();
          resolve(v);
        },
        (e) => {
          end();
          reject(e);
        },
      );
    });
  }

  private async check(text: string): Promise<CheckOutcome> {
    for (let attempt = 0; attempt < 2; attempt++) {
      let result: PromptCheckResult | typeof TIMED_OUT;
      const seq = ++this.requestSeq;
      try {
        result = await this.within(this.o.transport.check(text, `gl-prompt-${++this.refSeq}`), Date.now());
      } catch {
        return { kind: 'failed', reason: 'unavailable', message: this.o.t('prompt_unavailable') };
      }
      if (result === TIMED_OUT)
        return { kind: 'failed', reason: 'timeout', message: this.o.t('prompt_timeout') };
      this.applyConfig(result.config, seq);
      switch (result.status) {
        case 'safe':
          return { kind: 'safe' };
        case 'skipped':
          return { kind: 'skipped' };
        case 'unsafe':
          return { kind: 'unsafe', categories: result.categories, names: result.names };
        case 'error':
          // The tab "navigated" (an SPA route change) while the check waited: ask once more.
          if (result.kind === 'dropped' && attempt === 0) continue;
          if (result.kind === 'timeout')
            return { kind: 'failed', reason: 'timeout', message: this.o.t('prompt_timeout') };
          return {
            kind: 'failed',
            reason: 'endpoint',
            message: result.text ? this.o.t.text(result.text, result.message) : result.message,
          };
      }
    }
    return { kind: 'failed', reason: 'endpoint', message: this.o.t('prompt_unavailable') };
  }

  private apply(pending: Pending, decision: Decision): void {
    const anchor = pending.composer ?? (pending.trigger.kind === 'click' ? pending.trigger.control : null);
    if (decision.action === 'send') {
      this.pending = null;
      this.ui.hide();
      void this.releaseAndConfirm(pending).then((result) => {
        if (result === 'failed')
          this.ui.showNotice(anchor, 'release-failed', this.o.t('prompt_release_failed'));
        else if (decision.notice === 'unchecked') {
          this.ui.showNotice(anchor, 'unchecked', this.o.t('prompt_sent_unchecked', decision.message ?? ''));
        } else if (decision.notice === 'attachments') {
          this.ui.showNotice(anchor, 'attachments', this.o.t('prompt_sent_attachments'));
        }
      });
      return;
    }
    pending.state = 'held';
    if (!anchor) {
      // Nothing to anchor the panel to: say it in a notice instead of holding silently.
      this.pending = null;
      this.ui.showNotice(null, 'release-failed', this.o.t('prompt_unreadable'));
      return;
    }
    const edit = () => {
      this.pending = null;
      this.ui.hide();
      const composer = pending.composer?.isConnected
        ? pending.composer
        : siteComposers(this.doc, this.o.site)[0];
      if (composer) focusAtEnd(composer);
    };
    if (decision.panel === 'failed') {
      this.ui.showPanel(anchor, {
        kind: 'failed',
        message: decision.message,
        attachments: decision.attachments,
        sendAnyway: false,
        onEdit: edit,
        onRetry: () => {
          if (this.pending !== pending) return;
          const text = pending.composer?.isConnected
            ? cleanText(readComposer(pending.composer))
            : pending.text;
          void this.run({ ...pending, text: text || pending.text });
        },
      });
      return;
    }
    this.ui.showPanel(anchor, {
      kind: decision.panel,
      names: decision.names,
      categories: decision.categories,
      attachments: decision.attachments,
      sendAnyway: decision.sendAnyway,
      onEdit: edit,
      onSendAnyway: () => {
        if (this.pending !== pending) return;
        this.pending = null;
        this.ui.hide();
        void this.releaseAndConfirm(pending).then((result) => {
          if (result === 'failed')
            this.ui.showNotice(anchor, 'release-failed', this.o.t('prompt_release_failed'));
        });
      },
    });
  }

  // -- release -------------------------------------------------------------------------------------------------

  private withReplay(fn: () => void): void {
    this.replaying = true;
    try {
      fn();
    } finally {
      this.replaying = false;
    }
  }

  /** Dispatches Enter on the composer as the person pressed it; true when the site handled it. */
  private replayKey(target: HTMLElement, init: KeyboardEventInit): boolean {
    if (this.doc.activeElement !== target && !target.contains(this.doc.activeElement)) {
      target.focus({ preventScroll: true });
    }
    const down = new KeyboardEvent('keydown', { ...init, bubbles: true, cancelable: true, composed: true });
    this.withReplay(() => {
      target.dispatchEvent(down);
      target.dispatchEvent(
        new KeyboardEvent('keyup', { ...init, bubbles: true, cancelable: true, composed: true }),
      );
    });
    return down.defaultPrevented;
  }

  private replayClick(control: HTMLElement): void {
    this.withReplay(() => control.click());
  }

  private replaySubmit(form: HTMLFormElement, submitter: HTMLElement | null): void {
    this.withReplay(() => {
      try {
        form.requestSubmit(
          submitter?.isConnected && submitter.closest('form') === form ? submitter : undefined,
        );
      } catch {
        form.requestSubmit();
      }
    });
  }

  /**
   * A usable send control for the composer, waiting for a disabled or stop-mode one to come back, or for a site
   * still starting to show one. `onNewComposer` is told of a composer the site built anew meanwhile (its app
   * started); when it says the send was taken there, the wait ends with 'sent'.
   */
  private async usableControl(
    composer: HTMLElement | null,
    preferred: HTMLElement | null,
    onNewComposer?: (composer: HTMLElement) => boolean,
  ): Promise<HTMLElement | 'sent' | null> {
    let seen = composer;
    const deadline = this.now() + (this.o.releaseWaitMs ?? RELEASE_WAIT_MS);
    for (;;) {
      if (
        preferred?.isConnected &&
        !isControlDisabled(preferred) &&
        !isStopControl(preferred, this.o.site) &&
        isLive(preferred, this.o.site)
      ) {
        return preferred;
      }
      // The composer there is now: a site that re-rendered it puts its send control beside the new one.
      const current = composer?.isConnected ? composer : (siteComposers(this.doc, this.o.site)[0] ?? null);
      if (current && current !== seen) {
        seen = current;
        if (onNewComposer?.(current)) return 'sent';
      }
      const found = current ? findSendControl(current, this.o.site, true) : null;
      if (found) return found;
      if (this.now() >= deadline) return null;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Did the site take the send within `ms`: the composer emptied or changed, went away (and no composer holds the
   * text now), or a stop control showed?
   */
  private async sentSince(composer: HTMLElement | null, text: string, ms: number): Promise<boolean> {
    const deadline = this.now() + ms;
    for (;;) {
      // A composer rebuilt with the same text in it (hydration, a late app start) is the same send, not taken.
      const current = composer?.isConnected ? composer : (siteComposers(this.doc, this.o.site)[0] ?? null);
      if (!current) return true;
      if (cleanText(readComposer(current)) !== text) return true;
      if (stopShowing(this.o.site, this.doc)) return true;
      if (this.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /**
   * Releases the send and makes sure the site took it. If the site did not (it ignores synthetic input), the
   * person is told, and their own next send of the same text goes through without a second check.
   */
  private async releaseAndConfirm(send: Send): Promise<'sent' | 'failed'> {
    const ok = await this.release(send);
    const composer = send.composer?.isConnected ? send.composer : null;
    // Nothing to confirm by: no composer any more, a text that could not be read, Enter given back as a newline.
    if (ok && (!composer || !send.text || this.enterIsNewline.has(composer))) return 'sent';
    if (ok && (await this.sentSince(composer, send.text, this.o.confirmMs ?? CONFIRM_MS))) return 'sent';
    this.passNext = { text: send.text, until: this.now() + PASS_NEXT_MS };
    return 'failed';
  }

  /** Lets the send go, once. Returns false when no way to send was found (the person is told). */
  private async release(send: Send): Promise<boolean> {
    this.lastPrompt = send.text;
    this.approval = { text: send.text, until: this.now() + FOLLOW_UP_MS };
    const composer = send.composer?.isConnected
      ? send.composer
      : (siteComposers(this.doc, this.o.site)[0] ?? null);
    const { trigger } = send;
    if (trigger.kind === 'key') {
      const target = trigger.target.isConnected ? trigger.target : composer;
      if (target && this.replayKey(target, trigger.init)) return true;
      // Not handled as such, yet maybe sent all the same: a second send must never follow a first.
      if (target && (await this.sentSince(target, send.text, 60))) return true;
      if (target && this.o.site.id === 'generic' && !trigger.init.ctrlKey && !trigger.init.metaKey) {
        // This site does not send on Enter: give the newline back, and leave Enter alone here from now on.
        this.enterIsNewline.add(target);
        this.withReplay(
          () => this.doc.execCommand('insertLineBreak') || this.doc.execCommand('insertText', false, '\n'),
        );
        return true;
      }
      // A site still starting (no handler on its composer yet) takes the Enter once its app has built the composer.
      const control = await this.usableControl(target, null, (fresh) => this.replayKey(fresh, trigger.init));
      if (control === 'sent') return true;
      if (control) {
        this.replayClick(control);
        return true;
      }
      const form = target?.closest('form');
      if (form) {
        this.replaySubmit(form, null);
        return true;
      }
      return false;
    }
    if (trigger.kind === 'click') {
      const control = await this.usableControl(composer, trigger.control);
      if (control && control !== 'sent') {
        this.replayClick(control);
        return true;
      }
      if (composer) return this.replayKey(composer, { key: 'Enter', code: 'Enter', keyCode: 13, which: 13 });
      return false;
    }
    if (trigger.form.isConnected) {
      this.replaySubmit(trigger.form, trigger.submitter);
      return true;
    }
    const control = await this.usableControl(composer, null);
    if (control && control !== 'sent') {
      this.replayClick(control);
      return true;
    }
    return false;
  }
}
