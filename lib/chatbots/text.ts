/**
 * Reading the text of a composer or a reply from its nodes, the way the site would send it: one line per block
 * (ProseMirror, Quill and Lexical write one `<p>` per line, where `innerText` would double the newlines), `<br>`
 * as a newline except the trailing one editors keep in every block, no placeholders, no zero-width characters.
 *
 * Works on anything shaped like DOM nodes (`NodeLike`), so it runs and is tested without a DOM.
 *
 * Public API: `NodeLike`, `readNodeText(root)`, `cleanText(text)`, `isBlankText(text)`.
 */

export interface NodeLike {
  nodeType: number;
  nodeName: string;
  nodeValue: string | null;
  childNodes: ArrayLike<NodeLike>;
  getAttribute?(name: string): string | null;
}

const TEXT_NODE = 3;
const ELEMENT_NODE = 1;

const BLOCKS = new Set([
  'ADDRESS',
  'ARTICLE',
  'ASIDE',
  'BLOCKQUOTE',
  'DD',
  'DETAILS',
  'DIV',
  'DL',
  'DT',
  'FIELDSET',
  'FIGCAPTION',
  'FIGURE',
  'FOOTER',
  'FORM',
  'H1',
  'H2',
  'H3',
  'H4',
  'H5',
  'H6',
  'HEADER',
  'HR',
  'LI',
  'MAIN',
  'NAV',
  'OL',
  'P',
  'PRE',
  'SECTION',
  'SUMMARY',
  'TABLE',
  'TBODY',
  'THEAD',
  'TFOOT',
  'TR',
  'UL',
]);

/** Elements whose content is never part of the text people wrote or read. */
const SKIPPED = new Set([
  'SCRIPT',
  'STYLE',
  'TEMPLATE',
  'NOSCRIPT',
  'IMG',
  'SVG',
  'BUTTON',
  'TEXTAREA',
  'INPUT',
  'SELECT',
]);

function isSkipped(node: NodeLike): boolean {
  const name = node.nodeName.toUpperCase();
  if (SKIPPED.has(name)) return true;
  const attr = (n: string) => node.getAttribute?.(n) ?? null;
  if (attr('aria-hidden') === 'true' || attr('hidden') !== null) return true;
  // Placeholder elements some editors insert as real nodes (ProseMirror's is an attribute, so it is not here).
  const cls = attr('class');
  if (cls && /(^|\s)[\w-]*placeholder[\w-]*(\s|$)/i.test(cls) && attr('data-placeholder') === null)
    return true;
  return false;
}

class Lines {
  readonly lines: string[] = [];
  private current = '';
  private open = false;

  text(s: string): void {
    this.current += s;
    this.open = true;
  }

  /** Ends the current line, if anything was written to it (or `force`). One trailing `<br>` newline is dropped. */
  end(force: boolean): void {
    if (!this.open && !force) return;
    this.lines.push(this.current.endsWith('\n') ? this.current.slice(0, -1) : this.current);
    this.current = '';
    this.open = false;
  }
}

function walk(node: NodeLike, out: Lines): void {
  const children = node.childNodes;
  for (let i = 0; i < children.length; i++) {
    const child = children[i]!;
    if (child.nodeType === TEXT_NODE) {
      out.text(child.nodeValue ?? '');
      continue;
    }
    if (child.nodeType !== ELEMENT_NODE) continue;
    const name = child.nodeName.toUpperCase();
    if (name === 'BR') {
      out.text('\n');
      continue;
    }
    if (isSkipped(child)) continue;
    if (BLOCKS.has(name)) {
      out.end(false);
      const before = out.lines.length;
      walk(child, out);
      // A block that held no nested block is one line, even when empty (`<p><br></p>` is an empty line).
      out.end(out.lines.length === before);
    } else {
      walk(child, out);
    }
  }
}

/** The text of an editor or reply element, one line per block. Not cleaned: see `cleanText`. */
export function readNodeText(root: NodeLike): string {
  const out = new Lines();
  walk(root, out);
  out.end(false);
  return out.lines.join('\n');
}

/** Zero-width characters editors use as caret anchors (not the joiners, which belong to emoji and scripts). */
const ZERO_WIDTH = /[\u200B\u2060\uFEFF]/g;

/** The text to check: zero-width characters removed, no-break spaces as spaces, CRLF as LF, trimmed. */
export function cleanText(text: string): string {
  return text
    .replace(ZERO_WIDTH, '')
    .replace(/\u00A0/g, ' ')
    .replace(/\r\n?/g, '\n')
    .trim();
}

export function isBlankText(text: string): boolean {
  return cleanText(text) === '';
}
