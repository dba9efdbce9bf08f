/**
 * The prompt guard's own UI, drawn over the page so the site's layout never moves: a compact "Checking…" pill on
 * the composer's corner, a small panel next to the composer for a held prompt, and a short notice. It lives in an
 * open shadow root on a host element outside the site's app (attribute `data-guardlens-ui`, which the page
 * scanner skips), follows the composer when the page scrolls or resizes, and ignores clicks that no person made.
 *
 * The host's `data-state` says what shows (`idle`, `checking`, `blocked`, `warn`, `failed`) and `data-notice`
 * which notice, for people's tools and for tests.
 */
import { markOwnUi, OWN_UI_ATTRIBUTE } from './dom';
import type { Translate } from './i18n';

export interface PanelOptions {
  kind: 'blocked' | 'warn' | 'failed';
  /** People-facing category names (blocked / warn). */
  names?: string[];
  categories?: string[];
  /** What went wrong (failed). */
  message?: string;
  attachments: boolean;
  /** Show "Send anyway"; false shows why it is not offered. */
  sendAnyway: boolean;
  onEdit(): void;
  onSendAnyway?(): void;
  onRetry?(): void;
}

export type NoticeKind = 'unchecked' | 'attachments' | 'release-failed';

const CSS = `
:host { all: initial; }
.gl { position: fixed; z-index: 2147483647; box-sizing: border-box; font: 13px/1.4 system-ui, -apple-system,
  "Segoe UI", Roboto, sans-serif; color: #1f2937; }
.gl[hidden] { display: none !important; }
.pill { display: inline-flex; align-items: center; gap: 6px; padding: 3px 9px; border-radius: 999px;
  background: #eef2ff; color: #3730a3; border: 1px solid #c7d2fe; box-shadow: 0 1px 3px rgba(0,0,0,.15);
  pointer-events: none; white-space: nowrap; }
.spin { width: 10px; height: 10px; border-radius: 50%; border: 2px solid #a5b4fc; border-top-color: #4338ca;
  animation: r .8s linear infinite; }
@keyframes r { to { transform: rotate(360deg); } }
@media (prefers-reduced-motion: reduce) { .spin { animation: none; } }
.panel, .notice { width: 360px; max-width: calc(100vw - 16px); padding: 12px 14px; border-radius: 10px;
  overflow-wrap: anywhere;
  background: #fff; border: 1px solid #e5e7eb; box-shadow: 0 6px 24px rgba(0,0,0,.18); }
.panel.blocked { border-left: 4px solid #b91c1c; }
.panel.warn { border-left: 4px solid #c2410c; }
.panel.failed { border-left: 4px solid #6b7280; }
.title { font-weight: 600; margin: 0 0 4px; font-size: 14px; }
.line { margin: 2px 0; }
.muted { color: #4b5563; }
.buttons { display: flex; gap: 8px; margin-top: 10px; flex-wrap: wrap; }
button { font: inherit; padding: 5px 12px; border-radius: 6px; border: 1px solid #d1d5db; background: #fff;
  color: #111827; cursor: pointer; }
button.primary { background: #1f2937; color: #fff; border-color: #1f2937; }
button:focus-visible { outline: 2px solid #2563eb; outline-offset: 2px; }
.notice { display: flex; gap: 10px; align-items: flex-start; }
.notice p { margin: 0; flex: 1; }
.notice button { padding: 2px 8px; }
@media (prefers-color-scheme: dark) {
  .gl { color: #e5e7eb; }
  .pill { background: #1e1b4b; color: #c7d2fe; border-color: #3730a3; }
  .panel, .notice { background: #111827; border-color: #374151; }
  .muted { color: #9ca3af; }
  button { background: #1f2937; color: #e5e7eb; border-color: #4b5563; }
  button.primary { background: #e5e7eb; color: #111827; border-color: #e5e7eb; }
}
`;

const NOTICE_MS = 8000;

export class GuardUi {
  private host: HTMLElement | null = null;
  private root: ShadowRoot | null = null;
  private pill: HTMLElement | null = null;
  private panel: HTMLElement | null = null;
  private notice: HTMLElement | null = null;
  private anchor: Element | null = null;
  private noticeAnchor: Element | null = null;
  private noticeTimer: ReturnType<typeof setTimeout> | null = null;
  private frame = 0;
  private listening = false;
  /**
   * Called when the element the UI is anchored to is gone (the composer re-rendered, SPA navigation): returns the
   * element to follow now, or null while there is none (asked again as the page changes).
   */
  onAnchorLost: (() => Element | null) | null = null;

  constructor(
    private readonly doc: Document,
    private readonly t: Translate,
  ) {}

  private ensure(): ShadowRoot {
    if (this.host?.isConnected && this.root) return this.root;
    if (!this.host) {
      this.host = this.doc.createElement('guardlens-prompt');
      this.host.setAttribute(OWN_UI_ATTRIBUTE, '');
      markOwnUi(this.host);
      this.host.setAttribute('data-state', 'idle');
      this.root = this.host.attachShadow({ mode: 'open' });
      const style = this.doc.createElement('style');
      style.textContent = CSS;
      this.root.append(style);
    }
    // Outside <body>, which single-page apps re-render.
    this.doc.documentElement.append(this.host);
    return this.root!;
  }

  private setState(state: string): void {
    this.host?.setAttribute('data-state', state);
  }

  private el<K extends keyof HTMLElementTagNameMap>(
    tag: K,
    cls?: string,
    text?: string,
  ): HTMLElementTagNameMap[K] {
    const e = this.doc.createElement(tag);
    if (cls) e.className = cls;
    if (cls?.startsWith('gl ')) e.lang = this.t.lang;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  private button(text: string, primary: boolean, action: () => void, name: string): HTMLButtonElement {
    const b = this.el('button', primary ? 'primary' : undefined, text);
    b.type = 'button';
    b.setAttribute('data-action', name);
    b.addEventListener('click', (event) => {
      // Only a person's click counts: the page's scripts cannot press these buttons.
      if (!event.isTrusted) return;
      event.stopPropagation();
      action();
    });
    return b;
  }

  /** The compact "Checking…" pill on the composer's corner. */
  showChecking(anchor: Element): void {
    const root = this.ensure();
    this.clearPanel();
    this.anchor = anchor;
    if (!this.pill) {
      this.pill = this.el('div', 'gl pill');
      this.pill.setAttribute('role', 'status');
      this.pill.setAttribute('aria-label', this.t('prompt_checking_label'));
      this.pill.append(this.el('span', 'spin'), this.el('span', undefined, this.t('prompt_checking')));
      root.append(this.pill);
    }
    this.pill.hidden = false;
    this.setState('checking');
    this.follow();
  }

  /** The panel for a held prompt; focuses its "Edit prompt" button (a second Enter never sends). */
  showPanel(anchor: Element, options: PanelOptions): void {
    const root = this.ensure();
    this.clearPanel();
    if (this.pill) this.pill.hidden = true;
    this.anchor = anchor;
    const panel = this.el('div', `gl panel ${options.kind}`);
    panel.setAttribute('role', 'alertdialog');
    panel.setAttribute('aria-label', this.t('prompt_panel_label'));
    const titleKey =
      options.kind === 'failed'
        ? 'prompt_failed_title'
        : options.kind === 'warn'
          ? 'prompt_warn_title'
          : 'prompt_blocked_title';
    panel.append(this.el('p', 'title', this.t(titleKey)));
    if (options.kind === 'failed') {
      if (options.message) panel.append(this.el('p', 'line muted', options.message));
      panel.append(this.el('p', 'line', this.t('prompt_failed_held')));
    } else {
      const names = options.names ?? [];
      const shown = names.map((n, i) => {
        const code = options.categories?.[i];
        return code && code !== n ? `${code} ${n}` : n;
      });
      const line = shown.length
        ? this.t('prompt_categories', shown.join(', '))
        : this.t('prompt_no_category');
      const p = this.el('p', 'line', line);
      p.setAttribute('data-categories', (options.categories ?? []).join(' '));
      panel.append(p);
    }
    if (options.attachments) panel.append(this.el('p', 'line muted', this.t('prompt_attachments_unchecked')));
    if (options.kind === 'blocked' && !options.sendAnyway) {
      panel.append(this.el('p', 'line muted', this.t('prompt_send_anyway_forbidden')));
    }
    const buttons = this.el('div', 'buttons');
    const edit = this.button(this.t('prompt_edit'), true, options.onEdit, 'edit');
    buttons.append(edit);
    if (options.kind === 'failed' && options.onRetry) {
      buttons.append(this.button(this.t('prompt_retry'), false, options.onRetry, 'retry'));
    }
    if (options.kind !== 'failed' && options.sendAnyway && options.onSendAnyway) {
      buttons.append(this.button(this.t('prompt_send_anyway'), false, options.onSendAnyway, 'send-anyway'));
    }
    panel.append(buttons);
    panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && event.isTrusted) {
        event.stopPropagation();
        options.onEdit();
      }
    });
    root.append(panel);
    this.panel = panel;
    this.setState(options.kind);
    this.follow();
    edit.focus({ preventScroll: true });
  }

  /** A short notice next to the composer (the prompt went out unchecked, attachments were not checked…). */
  showNotice(anchor: Element | null, kind: NoticeKind, text: string): void {
    const root = this.ensure();
    this.hideNotice();
    const notice = this.el('div', 'gl notice');
    notice.setAttribute('role', 'status');
    notice.setAttribute('data-notice', kind);
    notice.append(this.el('p', undefined, text));
    notice.append(this.button(this.t('prompt_dismiss'), false, () => this.hideNotice(), 'dismiss'));
    root.append(notice);
    this.notice = notice;
    this.noticeAnchor = anchor;
    this.host?.setAttribute('data-notice', kind);
    this.noticeTimer = setTimeout(() => this.hideNotice(), NOTICE_MS);
    this.follow();
  }

  hideNotice(): void {
    if (this.noticeTimer) clearTimeout(this.noticeTimer);
    this.noticeTimer = null;
    this.notice?.remove();
    this.notice = null;
    this.noticeAnchor = null;
    this.host?.removeAttribute('data-notice');
  }

  private clearPanel(): void {
    this.panel?.remove();
    this.panel = null;
  }

  /** Hides the pill and the panel (not a notice). */
  hide(): void {
    this.clearPanel();
    if (this.pill) this.pill.hidden = true;
    this.anchor = null;
    this.setState('idle');
  }

  get showing(): boolean {
    return !!this.panel || !!(this.pill && !this.pill.hidden);
  }

  destroy(): void {
    this.hide();
    this.hideNotice();
    this.stopFollowing();
    this.host?.remove();
    this.host = null;
    this.root = null;
    this.pill = null;
  }

  // -- positioning ---------------------------------------------------------------------------------------------

  private readonly onMove = () => {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.place();
    });
  };

  private follow(): void {
    this.place();
    if (this.listening) return;
    this.listening = true;
    addEventListener('scroll', this.onMove, { capture: true, passive: true });
    addEventListener('resize', this.onMove, { passive: true });
  }

  private stopFollowing(): void {
    if (!this.listening) return;
    this.listening = false;
    removeEventListener('scroll', this.onMove, { capture: true });
    removeEventListener('resize', this.onMove);
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
  }

  private place(): void {
    const view = this.doc.defaultView;
    const vw = view?.innerWidth ?? 1024;
    const vh = view?.innerHeight ?? 768;
    if (this.anchor && !this.anchor.isConnected) {
      // The composer there is now; while the site has none (it is rebuilding it), the pill stays where it was and
      // the panel goes to the corner of the window: what they say still holds.
      const next = this.onAnchorLost?.() ?? null;
      if (next) this.anchor = next;
    }
    if (this.anchor) {
      const rect = this.anchor.isConnected ? this.anchor.getBoundingClientRect() : null;
      if (this.pill && !this.pill.hidden && rect) {
        const w = this.pill.offsetWidth || 90;
        const h = this.pill.offsetHeight || 22;
        this.pill.style.left = `${clamp(rect.right - w - 8, 4, vw - w - 4)}px`;
        this.pill.style.top = `${clamp(rect.top - h / 2, 4, vh - h - 4)}px`;
      }
      if (this.panel) this.placeBox(this.panel, rect, vw, vh);
    }
    if (this.notice) {
      const rect = this.noticeAnchor?.isConnected ? this.noticeAnchor.getBoundingClientRect() : null;
      this.placeBox(this.notice, rect, vw, vh);
    }
    if (!this.showing && !this.notice) this.stopFollowing();
  }

  /** Above the composer when there is room, else below it; bottom-right of the window without an anchor. */
  private placeBox(box: HTMLElement, rect: DOMRect | null, vw: number, vh: number): void {
    const w = box.offsetWidth || 360;
    const h = box.offsetHeight || 120;
    if (!rect) {
      box.style.left = `${Math.max(8, vw - w - 16)}px`;
      box.style.top = `${Math.max(8, vh - h - 16)}px`;
      return;
    }
    const left = clamp(rect.left, 8, vw - w - 8);
    const top = rect.top - h - 8 >= 8 ? rect.top - h - 8 : clamp(rect.bottom + 8, 8, vh - h - 8);
    box.style.left = `${left}px`;
    box.style.top = `${top}px`;
  }
}

function clamp(n: number, min: number, max: number): number {
  return Math.max(min, Math.min(n, Math.max(min, max)));
}
