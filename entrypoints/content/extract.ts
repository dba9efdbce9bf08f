/**
 * Finds the visible text of a page as blocks: text grouped by its nearest block-level element, whitespace
 * normalized, each block tied to its element. Skips scripts, styles, templates, hidden elements, form fields and
 * Guardlens' own UI. Work is done in small time slices so a long page never blocks the main thread.
 */

const BLOCK_SELECTOR = [
  'p',
  'li',
  'dt',
  'dd',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'blockquote',
  'pre',
  'td',
  'th',
  'caption',
  'figcaption',
  'summary',
  'address',
  'article',
  'section',
  'aside',
  'header',
  'footer',
  'main',
  'nav',
  'div',
  'form',
  'fieldset',
  'legend',
  'details',
  'dialog',
  'table',
  'ul',
  'ol',
  'dl',
  'body',
].join(',');

const SKIP_TAGS = new Set([
  'SCRIPT',
  'STYLE',
  'TEMPLATE',
  'NOSCRIPT',
  'TEXTAREA',
  'INPUT',
  'SELECT',
  'OPTION',
  'BUTTON',
  'SVG',
  'CANVAS',
  'IFRAME',
  'OBJECT',
  'EMBED',
  'HEAD',
  'TITLE',
  'META',
  'LINK',
]);

export const OWN_UI_ATTRIBUTE = 'data-guardlens-ui';

export interface FoundBlock {
  element: Element;
  text: string;
}

export function normalizeText(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function skippedAncestor(node: Node): boolean {
  for (let el = node.parentElement; el; el = el.parentElement) {
    if (SKIP_TAGS.has(el.tagName.toUpperCase())) return true;
    if (el.hasAttribute(OWN_UI_ATTRIBUTE)) return true;
    if ((el as HTMLElement).isContentEditable) return true;
  }
  return false;
}

function isVisible(el: Element): boolean {
  const check = (el as Element & { checkVisibility?: (o?: object) => boolean }).checkVisibility;
  if (typeof check === 'function')
    return check.call(el, { visibilityProperty: true, opacityProperty: false });
  return (el as HTMLElement).offsetParent !== null || el.getClientRects().length > 0;
}

/**
 * Collects blocks under `root`, yielding to the event loop whenever a slice has used `sliceMs`.
 * Text nodes are grouped under their closest block element; nested blocks each keep their own text.
 */
export async function collectBlocks(
  root: Node,
  options: { sliceMs?: number; seen?: WeakSet<Element>; signal?: AbortSignal } = {},
): Promise<FoundBlock[]> {
  const sliceMs = options.sliceMs ?? 4;
  const texts = new Map<Element, string[]>();
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let sliceStart = performance.now();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (options.signal?.aborted) return [];
    const value = node.nodeValue;
    if (value?.trim() && !skippedAncestor(node)) {
      const block = node.parentElement?.closest(BLOCK_SELECTOR);
      if (block && !options.seen?.has(block)) {
        const parts = texts.get(block);
        if (parts) parts.push(value);
        else texts.set(block, [value]);
      }
    }
    if (performance.now() - sliceStart > sliceMs) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      sliceStart = performance.now();
    }
  }
  const blocks: FoundBlock[] = [];
  for (const [element, parts] of texts) {
    const text = normalizeText(parts.join(' '));
    if (text && isVisible(element)) blocks.push({ element, text });
  }
  return blocks;
}
