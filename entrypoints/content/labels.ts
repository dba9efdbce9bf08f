/**
 * Guardlens' own UI on the page: a small label on each blurred (or labelled) element saying why, with a button
 * that reveals the content and hides it again, and a toast for the result of a context-menu check.
 *
 * Everything lives in one shadow root on an element appended to `<html>` (outside `<body>`, which page
 * frameworks manage), positioned over the flagged elements: the page's DOM structure, layout and CSS selectors
 * are untouched, and page CSS cannot reach inside. Positions follow scrolling, resizing and the page's changes
 * in animation frames, and only while there are labels.
 *
 * Only the person can reveal: the button acts on trusted clicks (a real click, or Enter / Space on the focused
 * button), never on a page script's `click()` or dispatched event. The host is Guardlens' own UI by identity
 * (`markOwnUi`), not by its attribute. A page that removes the host, restyles it or takes labels out of the
 * shadow root gets them put back (capped like the marks, see `RepairBudget`).
 */
import { isRevealed, REPAIR_THROTTLE_MS, RepairBudget, setRevealed } from './enforce';
import { markOwnUi, OWN_UI_ATTRIBUTE } from './extract';
import { messagesLanguage, t } from './i18n';

const SHADOW_CSS = `
:host { all: initial; }
.label {
  position: fixed; top: 0; left: 0; box-sizing: border-box; display: flex; gap: 6px; align-items: center;
  max-width: min(360px, 90vw); padding: 3px 3px 3px 8px; border-radius: 6px; background: #7c2d12;
  color: #fff; font: 600 12px/1.35 system-ui, sans-serif; box-shadow: 0 1px 4px rgba(0, 0, 0, .35);
  pointer-events: auto; direction: ltr; text-align: start; filter: none;
}
.label[hidden] { display: none; }
.label.label-only { padding-right: 8px; background: #9a3412; }
.why { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.label:lang(th) .why, .label:lang(hi) .why { line-height: 1.6; }
button {
  all: unset; cursor: pointer; padding: 2px 9px; border-radius: 4px; background: #fff; color: #7c2d12;
  font: 600 12px/1.35 system-ui, sans-serif;
}
button:focus-visible { outline: 2px solid #fde68a; outline-offset: 1px; }
.toast {
  position: fixed; right: 16px; bottom: 16px; box-sizing: border-box; display: flex; gap: 10px;
  align-items: center; max-width: min(420px, 92vw); padding: 10px 10px 10px 14px; border-radius: 8px;
  background: #1f2937; color: #fff; font: 500 13px/1.4 system-ui, sans-serif;
  box-shadow: 0 2px 10px rgba(0, 0, 0, .4); pointer-events: auto;
}
.toast.flagged { background: #7c2d12; }
.toast button { background: transparent; color: #fff; border: 1px solid rgba(255, 255, 255, .6); }
`;

export type LabelKind = 'blur' | 'label' | 'unchecked';

interface Label {
  box: HTMLElement;
  button?: HTMLButtonElement;
  names: string;
  rtl: boolean;
}

const LABEL_HEIGHT = 26;
const TOAST_MS = 10_000;

export class LabelLayer {
  private host: HTMLElement | null = null;
  private root: ShadowRoot | null = null;
  private readonly labels = new Map<Element, Label>();
  private frame = 0;
  private listening = false;
  private resize: ResizeObserver | null = null;
  private toastTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly onMove = () => this.schedule();
  private watcher: MutationObserver | null = null;
  private readonly budget = new RepairBudget();
  private repairTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly doc: Document = document) {}

  get size(): number {
    return this.labels.size;
  }

  /** The label on `element`, if any (tests). */
  labelOf(element: Element): HTMLElement | undefined {
    return this.labels.get(element)?.box;
  }

  /** Shows (or updates) the label of a blurred, labelled or unchecked element. */
  show(element: Element, kind: LabelKind, names: string[]): void {
    const root = this.ensureRoot();
    const text = kind === 'unchecked' ? t('page_labelUnchecked') : t('page_labelFlagged', names.join(', '));
    let label = this.labels.get(element);
    if (!label) {
      const box = this.doc.createElement('div');
      box.className = 'label';
      box.lang = messagesLanguage();
      box.setAttribute('role', 'group');
      const why = this.doc.createElement('span');
      why.className = 'why';
      box.append(why);
      for (const type of ['click', 'mousedown', 'mouseup', 'pointerdown', 'pointerup', 'keydown'])
        box.addEventListener(type, (e) => e.stopPropagation());
      root.append(box);
      label = { box, names: '', rtl: rtlOf(element) };
      this.labels.set(element, label);
      this.resize?.observe(element);
    }
    label.names = text;
    (label.box.firstChild as HTMLElement).textContent = text;
    label.box.title = text;
    label.box.classList.toggle('label-only', kind === 'label');
    if (kind === 'label') {
      label.button?.remove();
      delete label.button;
    } else if (!label.button) {
      const button = this.doc.createElement('button');
      button.type = 'button';
      button.addEventListener('click', (e) => {
        e.stopPropagation();
        // Only the person reveals: a page script's click() or dispatched event is not trusted.
        if (!e.isTrusted) return;
        this.toggle(element);
      });
      label.box.append(button);
      label.button = button;
    }
    this.updateButton(element, label);
    this.listen();
    this.schedule();
  }

  remove(element: Element): void {
    const label = this.labels.get(element);
    if (!label) return;
    label.box.remove();
    this.labels.delete(element);
    this.resize?.unobserve(element);
    if (this.labels.size === 0) this.unlisten();
  }

  /** Reveals a blurred element, or blurs it again. */
  toggle(element: Element): void {
    setRevealed(element, !isRevealed(element));
    const label = this.labels.get(element);
    if (label) this.updateButton(element, label);
  }

  /** A short message in the corner of the page (the result of a context-menu check). */
  toast(message: string, tone: 'neutral' | 'flagged' = 'neutral'): HTMLElement {
    const root = this.ensureRoot();
    this.toastBox?.remove();
    clearTimeout(this.toastTimer);
    const box = this.doc.createElement('div');
    box.className = `toast ${tone}`;
    box.lang = messagesLanguage();
    box.setAttribute('role', 'status');
    const text = this.doc.createElement('span');
    text.textContent = message;
    const close = this.doc.createElement('button');
    close.type = 'button';
    close.textContent = t('page_close');
    const dismiss = () => {
      if (this.toastBox === box) this.toastBox = null;
      box.remove();
    };
    close.addEventListener('click', (e) => {
      e.stopPropagation();
      // Only the person closes it: a page script's click() is not trusted.
      if (e.isTrusted) dismiss();
    });
    box.append(text, close);
    root.append(box);
    this.toastBox = box;
    this.toastTimer = setTimeout(dismiss, TOAST_MS);
    return box;
  }

  /** Recomputes positions in the next animation frame. */
  schedule(): void {
    if (this.frame || this.labels.size === 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.position();
    });
  }

  dispose(): void {
    this.watcher?.disconnect();
    this.watcher = null;
    clearTimeout(this.repairTimer);
    this.unlisten();
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    clearTimeout(this.toastTimer);
    this.labels.clear();
    this.host?.remove();
    this.host = null;
    this.root = null;
    this.style = null;
    this.toastBox = null;
  }

  private updateButton(element: Element, label: Label): void {
    if (!label.button) return;
    const revealed = isRevealed(element);
    label.button.textContent = revealed ? t('page_hide') : t('page_show');
    label.button.setAttribute('aria-label', revealed ? t('page_hideAria') : t('page_showAria', label.names));
    label.button.setAttribute('aria-pressed', String(revealed));
  }

  private ensureRoot(): ShadowRoot {
    if (this.host && this.root) {
      if (!this.host.isConnected) this.doc.documentElement.append(this.host);
      return this.root;
    }
    const host = this.doc.createElement('guardlens-ui');
    host.setAttribute(OWN_UI_ATTRIBUTE, '');
    markOwnUi(host);
    const root = host.attachShadow({ mode: 'open' });
    const style = this.doc.createElement('style');
    style.textContent = SHADOW_CSS;
    root.append(style);
    this.doc.documentElement.append(host);
    this.host = host;
    this.root = root;
    this.style = style;
    this.watch();
    return root;
  }

  private style: HTMLStyleElement | null = null;
  private toastBox: HTMLElement | null = null;

  /** Whether `node` is a child of the shadow root this layer put there. */
  private ownChild(node: Node): boolean {
    if (node === this.style || node === this.toastBox) return true;
    for (const label of this.labels.values()) if (label.box === node) return true;
    return false;
  }

  /** Watches the host and the shadow root's content for the page's changes (none of its own writes matter). */
  private watch(): void {
    if (typeof MutationObserver !== 'function' || !this.host || !this.root) return;
    this.watcher?.disconnect();
    this.watcher = new MutationObserver(() => this.repair(false));
    this.watcher.observe(this.doc.documentElement, { childList: true });
    this.watcher.observe(this.host, { attributes: true });
    this.watcher.observe(this.root, { childList: true, subtree: true, characterData: true });
  }

  /** Whether the host, its stylesheet and every label are as this layer left them. */
  private intact(): boolean {
    const host = this.host;
    const root = this.root;
    if (!host || !root) return true;
    if (host.parentNode !== this.doc.documentElement) return false;
    if (host.attributes.length !== 1 || !host.hasAttribute(OWN_UI_ATTRIBUTE)) return false;
    if (this.style?.parentNode !== root || this.style.textContent !== SHADOW_CSS) return false;
    if (this.toastBox && this.toastBox.parentNode !== root) return false;
    for (const node of root.childNodes) if (!this.ownChild(node)) return false;
    for (const label of this.labels.values()) {
      const why = label.box.firstChild;
      if (label.box.parentNode !== root || !why || why.textContent !== label.names) return false;
      if (label.button && label.button.parentNode !== label.box) return false;
    }
    return true;
  }

  /** Puts back what the page took away or changed: the host, its attributes, the stylesheet, the labels. */
  private repair(deferred: boolean): void {
    const host = this.host;
    const root = this.root;
    if (!host || !root || this.intact()) return;
    if (!deferred && !this.budget.take(this)) {
      if (this.repairTimer === undefined)
        this.repairTimer = setTimeout(() => {
          this.repairTimer = undefined;
          this.repair(true);
        }, REPAIR_THROTTLE_MS);
      return;
    }
    for (const attr of [...host.attributes])
      if (attr.name !== OWN_UI_ATTRIBUTE) host.removeAttribute(attr.name);
    if (!host.hasAttribute(OWN_UI_ATTRIBUTE)) host.setAttribute(OWN_UI_ATTRIBUTE, '');
    if (host.parentNode !== this.doc.documentElement) this.doc.documentElement.append(host);
    if (!this.style || this.style.parentNode !== root || this.style.textContent !== SHADOW_CSS) {
      this.style?.remove();
      const style = this.doc.createElement('style');
      style.textContent = SHADOW_CSS;
      root.prepend(style);
      this.style = style;
    }
    for (const [element, label] of this.labels) {
      let why = label.box.firstChild as HTMLElement | null;
      if (why?.nodeType !== 1 || (why as HTMLElement).className !== 'why') {
        why = this.doc.createElement('span');
        why.className = 'why';
        label.box.prepend(why);
      }
      if (why.textContent !== label.names) why.textContent = label.names;
      if (label.button && label.button.parentNode !== label.box) label.box.append(label.button);
      if (label.box.parentNode !== root) root.append(label.box);
      this.updateButton(element, label);
    }
    if (this.toastBox && this.toastBox.parentNode !== root) root.append(this.toastBox);
    // Anything the page put into the shadow root (a style sheet hiding the labels) goes.
    for (const node of [...root.childNodes]) if (!this.ownChild(node)) node.remove();
    this.watcher?.takeRecords();
    this.schedule();
  }

  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    this.doc.addEventListener('scroll', this.onMove, { capture: true, passive: true });
    this.doc.defaultView?.addEventListener('resize', this.onMove, { passive: true });
    if (typeof ResizeObserver === 'function') {
      this.resize = new ResizeObserver(this.onMove);
      for (const element of this.labels.keys()) this.resize.observe(element);
    }
  }

  private unlisten(): void {
    if (!this.listening) return;
    this.listening = false;
    this.doc.removeEventListener('scroll', this.onMove, { capture: true });
    this.doc.defaultView?.removeEventListener('resize', this.onMove);
    this.resize?.disconnect();
    this.resize = null;
  }

  private position(): void {
    const view = this.doc.defaultView;
    const width = view?.innerWidth ?? 0;
    const height = view?.innerHeight ?? 0;
    for (const [element, label] of [...this.labels]) {
      if (!element.isConnected) {
        this.remove(element);
        continue;
      }
      const rect = element.getBoundingClientRect();
      const off =
        rect.width === 0 || rect.bottom <= 0 || rect.top >= height || rect.right <= 0 || rect.left >= width;
      label.box.hidden = off;
      if (off) continue;
      const top = Math.max(4, Math.min(rect.top + 4, rect.bottom - LABEL_HEIGHT));
      const box = label.box;
      if (label.rtl) {
        box.style.left = 'auto';
        box.style.right = `${Math.max(4, width - rect.right + 4)}px`;
      } else {
        box.style.left = `${Math.max(4, rect.left + 4)}px`;
      }
      box.style.top = `${top}px`;
    }
  }
}

function rtlOf(element: Element): boolean {
  try {
    return getComputedStyle(element).direction === 'rtl';
  } catch {
    return false;
  }
}
