/**
 * Enforces verdicts on the page: one injected stylesheet and data attributes (sites rewrite inline styles, not
 * attributes they do not know). A flagged element carries `data-guardlens="flagged"` and
 * `data-guardlens-categories="S1 S10"`; the action decides blur, hide (collapse) or label only.
 */
import type { PageVerdict } from '@/utils/messages';

const STYLE_ID = 'guardlens-style';
const CSS = `
[data-guardlens="flagged"][data-guardlens-action="blur"]:not([data-guardlens-revealed]) {
  filter: blur(8px) !important; user-select: none !important;
}
[data-guardlens="flagged"][data-guardlens-action="hide"]:not([data-guardlens-revealed]) {
  display: none !important;
}
[data-guardlens="flagged"][data-guardlens-action="label"] {
  outline: 2px dashed #c2410c !important; outline-offset: 2px !important;
}
`;

export function ensureStyle(doc: Document = document): void {
  if (doc.getElementById(STYLE_ID)) return;
  const style = doc.createElement('style');
  style.id = STYLE_ID;
  style.textContent = CSS;
  (doc.head ?? doc.documentElement).append(style);
}

export function applyVerdict(element: Element, verdict: PageVerdict): void {
  if (verdict.action === 'ignore') return;
  ensureStyle(element.ownerDocument);
  element.setAttribute('data-guardlens', 'flagged');
  element.setAttribute('data-guardlens-categories', verdict.categories.join(' '));
  element.setAttribute('data-guardlens-action', verdict.action);
  element.setAttribute('title', `Guardlens: ${verdict.names.join(', ')}`);
}
