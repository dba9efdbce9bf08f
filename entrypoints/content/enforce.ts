/**
 * Enforces verdicts on the page through one injected stylesheet and data attributes (sites rewrite inline
 * styles, not attributes they do not know). A flagged element carries `data-guardlens="flagged"`,
 * `data-guardlens-categories="S1 S10"` and `data-guardlens-action` (blur, hide or label); a blurred element the
 * person revealed also carries `data-guardlens-revealed`. An image that could not be checked while images are
 * hidden until checked, with the fail mode closed, is `data-guardlens="unchecked"` and blurred.
 */
import type { PageVerdict } from '@/utils/messages';

export const STYLE_ATTRIBUTE = 'data-guardlens-style';
export const FLAG_ATTRIBUTE = 'data-guardlens';
export const CATEGORIES_ATTRIBUTE = 'data-guardlens-categories';
export const ACTION_ATTRIBUTE = 'data-guardlens-action';
export const REVEALED_ATTRIBUTE = 'data-guardlens-revealed';
/** Image state while images are hidden until checked: `pending` or `done`. */
export const IMAGE_ATTRIBUTE = 'data-guardlens-img';

const BASE_CSS = `
[data-guardlens="flagged"][data-guardlens-action="blur"]:not([data-guardlens-revealed]),
[data-guardlens="unchecked"]:not([data-guardlens-revealed]) {
  filter: blur(14px) !important; user-select: none !important;
}
[data-guardlens="flagged"][data-guardlens-action="hide"] { display: none !important; }
[data-guardlens="flagged"][data-guardlens-action="label"],
[data-guardlens][data-guardlens-revealed] {
  outline: 2px dashed #c2410c !important; outline-offset: 2px !important;
}
guardlens-ui[data-guardlens-ui] {
  all: initial !important; display: block !important; position: fixed !important; top: 0 !important;
  left: 0 !important; width: 0 !important; height: 0 !important; overflow: visible !important;
  z-index: 2147483647 !important; pointer-events: none !important;
}
`;

const HIDE_IMAGES_CSS = `
img:not([data-guardlens-img="done"]),
video[poster]:not([data-guardlens-img="done"]) { visibility: hidden !important; }
[data-guardlens-img="pending"]:not(img):not(video) { background-image: none !important; }
`;

let hideImages = false;

/** Turns on "hide images until checked" for the stylesheets this script injects from now on. */
export function setHideImages(on: boolean): void {
  hideImages = on;
  const style = document.querySelector(`style[${STYLE_ATTRIBUTE}]`);
  if (style) style.textContent = cssFor(document);
}

function cssFor(root: Document | ShadowRoot): string {
  return root.nodeType === 9 && hideImages ? BASE_CSS + HIDE_IMAGES_CSS : BASE_CSS;
}

/** Adds the stylesheet to a document or shadow root once (again, if the page removed it). */
export function ensureStyle(root: Document | ShadowRoot = document): void {
  if (root.querySelector(`style[${STYLE_ATTRIBUTE}]`)) return;
  const doc = root.nodeType === 9 ? (root as Document) : root.ownerDocument!;
  const style = doc.createElement('style');
  style.setAttribute(STYLE_ATTRIBUTE, '');
  style.textContent = cssFor(root);
  if (root.nodeType === 9) {
    const d = root as Document;
    (d.head ?? d.documentElement)?.append(style);
  } else root.append(style);
}

export function removeStyles(doc: Document = document): void {
  for (const style of doc.querySelectorAll(`style[${STYLE_ATTRIBUTE}]`)) style.remove();
}

function styleRootOf(element: Element): Document | ShadowRoot {
  const root = element.getRootNode();
  return root.nodeType === 11 ? (root as ShadowRoot) : element.ownerDocument;
}

/** Marks a flagged element. Returns false when the person's action for its categories is to ignore them. */
export function applyVerdict(element: Element, verdict: Pick<PageVerdict, 'categories' | 'action'>): boolean {
  if (verdict.action === 'ignore' || verdict.categories.length === 0) return false;
  ensureStyle(styleRootOf(element));
  const previous = element.getAttribute(CATEGORIES_ATTRIBUTE)?.split(' ').filter(Boolean) ?? [];
  const categories = [...previous];
  for (const code of verdict.categories) if (!categories.includes(code)) categories.push(code);
  const action = strongest(element.getAttribute(ACTION_ATTRIBUTE), verdict.action);
  element.setAttribute(FLAG_ATTRIBUTE, 'flagged');
  element.setAttribute(CATEGORIES_ATTRIBUTE, categories.join(' '));
  element.setAttribute(ACTION_ATTRIBUTE, action);
  return true;
}

const STRENGTH: Record<string, number> = { label: 1, blur: 2, hide: 3 };

function strongest(previous: string | null, next: string): string {
  return previous && (STRENGTH[previous] ?? 0) > (STRENGTH[next] ?? 0) ? previous : next;
}

/** Covers an image that could not be checked (fail mode closed). */
export function markUnchecked(element: Element): void {
  if (element.getAttribute(FLAG_ATTRIBUTE) === 'flagged') return;
  ensureStyle(styleRootOf(element));
  element.setAttribute(FLAG_ATTRIBUTE, 'unchecked');
}

export function isRevealed(element: Element): boolean {
  return element.hasAttribute(REVEALED_ATTRIBUTE);
}

export function setRevealed(element: Element, revealed: boolean): void {
  if (revealed) element.setAttribute(REVEALED_ATTRIBUTE, '');
  else element.removeAttribute(REVEALED_ATTRIBUTE);
}

/** Removes every mark Guardlens put on an element. */
export function clearMarks(element: Element): void {
  for (const name of [
    FLAG_ATTRIBUTE,
    CATEGORIES_ATTRIBUTE,
    ACTION_ATTRIBUTE,
    REVEALED_ATTRIBUTE,
    IMAGE_ATTRIBUTE,
  ])
    element.removeAttribute(name);
}
