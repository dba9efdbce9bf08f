/**
 * Finds what a person reads on a page as blocks: the text of each block-level element (paragraph, list item,
 * heading, table cell…) without the text of the blocks nested in it, whitespace normalized, tied to its element.
 *
 * - Skips scripts, styles, templates, noscript, form fields (their values are never read, password fields
 *   included), editable regions, hidden elements and Guardlens' own UI.
 * - Follows open shadow roots in rendering order (slots show their assigned nodes). Frames with a URL have their
 *   own content script; frames without one (`about:blank`, `srcdoc`) are reported to `onFrame`, so the frame
 *   around them can walk their documents.
 * - `walkBlocks` is a generator so the caller can run it in time slices: it yields `null` every few dozen nodes
 *   (a point to check the clock) and a `FoundBlock` whenever a block's own text is complete. Blocks the caller
 *   already knows (`isKnown`) are not entered again, which keeps re-walks after a change small.
 */

export const OWN_UI_ATTRIBUTE = 'data-guardlens-ui';

/**
 * Guardlens' own UI hosts, known by identity: the attribute and tag name are for styling and people's tools only,
 * so a page that plants them on its own content is still read.
 */
const ownUi = new WeakSet<Element>();

export function markOwnUi(host: Element): void {
  ownUi.add(host);
}

export function isOwnUi(el: Element): boolean {
  return ownUi.has(el);
}

/** Elements whose text is its own block (tag names, lower case). */
export const BLOCK_TAGS: ReadonlySet<string> = new Set([
  'address',
  'article',
  'aside',
  'blockquote',
  'body',
  'caption',
  'center',
  'dd',
  'details',
  'dialog',
  'div',
  'dl',
  'dt',
  'fieldset',
  'figcaption',
  'figure',
  'footer',
  'form',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'header',
  'hgroup',
  'legend',
  'li',
  'main',
  'menu',
  'nav',
  'ol',
  'p',
  'pre',
  'search',
  'section',
  'summary',
  'table',
  'tbody',
  'td',
  'tfoot',
  'th',
  'thead',
  'tr',
  'ul',
]);

/** Never entered: not text a person reads, a form field, or another document. */
const SKIP_TAGS: ReadonlySet<string> = new Set([
  'script',
  'style',
  'template',
  'noscript',
  'textarea',
  'input',
  'select',
  'option',
  'optgroup',
  'datalist',
  'button',
  'svg',
  'canvas',
  'iframe',
  'frame',
  'frameset',
  'object',
  'embed',
  'head',
  'title',
  'meta',
  'link',
  'img',
  'video',
  'audio',
  'map',
  'area',
  'source',
  'track',
  'param',
  'col',
  'colgroup',
  'base',
]);

/** Skipped elements that take room on the line, so the words on either side stay apart. */
const BOXED_TAGS: ReadonlySet<string> = new Set([
  'textarea',
  'input',
  'select',
  'button',
  'svg',
  'canvas',
  'iframe',
  'object',
  'embed',
  'img',
  'video',
  'audio',
]);

/** Inline by default; a page may still make them blocks with CSS, which is checked where it matters. */
const INLINE_TAGS: ReadonlySet<string> = new Set([
  'a',
  'abbr',
  'b',
  'bdi',
  'bdo',
  'cite',
  'code',
  'data',
  'del',
  'dfn',
  'em',
  'font',
  'i',
  'ins',
  'kbd',
  'label',
  'mark',
  'q',
  'rp',
  'rt',
  'ruby',
  's',
  'samp',
  'small',
  'span',
  'strong',
  'sub',
  'sup',
  'time',
  'u',
  'var',
  'wbr',
]);

/** Media elements the walk reports to `onMedia` (images, video posters). */
const MEDIA_TAGS: ReadonlySet<string> = new Set(['img', 'video']);

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const CDATA_SECTION_NODE = 4;

export interface FoundBlock {
  element: Element;
  /** The block's own text, whitespace normalized (may be empty). */
  text: string;
}

export interface WalkHooks {
  /** A block already reported and unchanged: the walk does not enter it. */
  isKnown?(element: Element): boolean;
  /** Called for each visible `img` and `video`. */
  onMedia?(element: Element): void;
  /** Called for each other visible element that may show a background image (not inline text elements). */
  onElement?(element: Element): void;
  /** Called for each open shadow root the walk enters (to observe its changes). */
  onShadowRoot?(root: ShadowRoot): void;
  /** Called for each visible `iframe` / `frame` (its document is not entered by the walk). */
  onFrame?(frame: HTMLIFrameElement | HTMLFrameElement): void;
}

const SPACE_RE = /\s+/g;

export function normalizeText(text: string): string {
  return text.replace(SPACE_RE, ' ').trim();
}

const LETTER_RE = /\p{L}/u;

/** True when the text has a letter of any script: numbers and punctuation alone (clocks, counters) are not sent. */
export function hasLetters(text: string): boolean {
  return LETTER_RE.test(text);
}

/**
 * An HTML tag with attributes shown as text (`<name attr=value …>`), no longer than a few hundred characters. A
 * page prints these when a script writes escaped markup (`document.write('&lt;script src=…?cb=' + Date.now())`).
 */
const MARKUP_TAG_RE = /<[a-zA-Z][\w:-]*\s[^<>]{0,400}>/g;
/** A bare tag (`<img>`, `</script>`), as text about HTML mentions them. */
const BARE_TAG_RE = /<\/?[a-zA-Z][\w:-]*\s*\/?>/g;
/** A quoted attribute value with three words or more: text a person reads, which stays. */
const WORDY_VALUE_RE = /=\s*(?:"[^"]*[^"\s]\s+[^"\s]+\s+[^"\s][^"]*"|'[^']*[^'\s]\s+[^'\s]+\s+[^'\s][^']*')/;
/** One attribute of a tag: a name, and maybe `=` and a value (quoted, or anything up to a space). */
const ATTRIBUTE_RE = /\s*([^\s=<>"'/]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?/y;
/** Real tags carry few attributes without a value (`async`, `defer`, `hidden`); a sentence has many words. */
const MAX_BARE_ATTRIBUTES = 2;

/**
 * Whether a `<…>` stretch of text is a tag a script printed, not a sentence a page put between angle brackets:
 * only attribute syntax after the name, at least one `name=value`, few bare words, and no value that reads as a
 * sentence. A page cannot hide "<Angle brackets around a sentence>" from the check this way.
 */
function isPrintedTag(tag: string): boolean {
  if (WORDY_VALUE_RE.test(tag)) return false;
  const end = tag.endsWith('/>') ? tag.length - 2 : tag.length - 1;
  let at = tag.search(/\s/);
  let valued = 0;
  let bare = 0;
  while (at < end) {
    ATTRIBUTE_RE.lastIndex = at;
    const m = ATTRIBUTE_RE.exec(tag);
    if (!m || m.index !== at || ATTRIBUTE_RE.lastIndex > end) {
      return tag.slice(at, end).trim() === '' && valued > 0 && bare <= MAX_BARE_ATTRIBUTES;
    }
    if (m[2] !== undefined) valued++;
    else bare++;
    at = ATTRIBUTE_RE.lastIndex;
  }
  return valued > 0 && bare <= MAX_BARE_ATTRIBUTES;
}

/**
 * The text without the HTML tags with attributes a page shows as text (escaped markup written by its scripts):
 * such tags often carry a cache-busting number that changes on every load, and they are nothing a person reads.
 * When only bare tags are left (`</script>`), nothing is. Text about HTML (`a list of <img>`), tags whose
 * attribute values hold words (an `alt` or `title` with a sentence) and sentences between angle brackets are kept.
 */
export function withoutMarkup(text: string): string {
  if (!text.includes('<')) return text;
  const stripped = text.replace(MARKUP_TAG_RE, (tag) => (isPrintedTag(tag) ? ' ' : tag));
  if (stripped === text) return text;
  return hasLetters(stripped.replace(BARE_TAG_RE, ' ')) ? normalizeText(stripped) : '';
}

function tagOf(el: Element): string {
  return el.localName;
}

export function isBlockElement(el: Element): boolean {
  return BLOCK_TAGS.has(tagOf(el));
}

function isEditable(el: Element): boolean {
  const value = el.getAttribute('contenteditable');
  return value !== null && value.toLowerCase() !== 'false';
}

/** The element's parent in the composed tree (a shadow root's host). */
function composedParent(node: Node): Node | null {
  if (node.nodeType === 11) return (node as ShadowRoot).host ?? null;
  const parent = node.parentNode;
  if (parent?.nodeType === 11) return (parent as ShadowRoot).host ?? parent;
  // A child of a shadow host renders where its slot is: inside that slot's block, editor or hidden parent.
  return slotOf(node, parent) ?? parent;
}

/** The slot that shows `node` (a child of a shadow host), if any. */
function slotOf(node: Node, parent: Node | null): Element | null {
  const assigned = (node as { assignedSlot?: Element | null }).assignedSlot;
  if (assigned !== undefined) return assigned;
  // Where `assignedSlot` is missing (some DOM implementations, comments): ask the host's slots.
  const shadow = (parent as { shadowRoot?: ShadowRoot | null } | null)?.shadowRoot;
  if (!shadow) return null;
  for (const slot of shadow.querySelectorAll('slot'))
    if ((slot as HTMLSlotElement).assignedNodes?.().includes(node as ChildNode)) return slot;
  return null;
}

/** One options object for every `checkVisibility` call, rather than a new one per element. */
const VISIBILITY_OPTIONS = Object.freeze({ visibilityProperty: true });

/** Whether an element renders. `display: contents` has no box of its own but its children render. */
export function isShown(el: Element): boolean {
  const check = (el as Element & { checkVisibility?: (o?: object) => boolean }).checkVisibility;
  if (typeof check === 'function') {
    if (check.call(el, VISIBILITY_OPTIONS)) return true;
    const style = getComputedStyle(el);
    return style.display === 'contents' && style.visibility !== 'hidden';
  }
  const style = getComputedStyle(el);
  return style.display !== 'none' && style.visibility !== 'hidden';
}

/** The closest block-level element around `node` (itself included), across shadow roots. */
export function nearestBlock(node: Node): Element | null {
  for (let n: Node | null = node; n; n = composedParent(n)) {
    if (n.nodeType === ELEMENT_NODE && isBlockElement(n as Element)) return n as Element;
  }
  return null;
}

/**
 * Whether the text under `el` is something Guardlens may read: connected, rendered, and not inside a skipped
 * element, an editable region or Guardlens' own UI. For the root of a walk (the walk checks everything below).
 */
export function isReadableRoot(el: Element): boolean {
  if (!el.isConnected) return false;
  for (let n: Node | null = el; n; n = composedParent(n)) {
    if (n.nodeType !== ELEMENT_NODE) continue;
    const e = n as Element;
    if (SKIP_TAGS.has(tagOf(e)) || ownUi.has(e) || isEditable(e)) return false;
  }
  return isShown(el);
}

interface OpenBlock {
  element: Element;
  parts: string[];
}

interface Cursor {
  /** Next sibling to visit, for a live child list. */
  next: Node | null;
  /** Or a fixed list (a slot's assigned nodes). */
  list?: Node[];
  index: number;
  /** The block this level closes when it is done. */
  block?: OpenBlock;
  /** An inline element the page made a block: keep the words after it apart. */
  separate?: boolean;
}

function lastCharIsText(parts: string[]): boolean {
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i]!;
    if (part.length === 0) continue;
    const ch = part.charCodeAt(part.length - 1);
    return !(ch === 32 || ch === 10 || ch === 9 || ch === 13 || ch === 12 || ch === 160);
  }
  return false;
}

/** For an inline-looking element that directly follows text: does the page lay it out as a block? */
function laidOutAsBlock(el: Element): boolean {
  const display = getComputedStyle(el).display;
  return !(display.startsWith('inline') || display === 'contents' || display === 'ruby' || display === '');
}

/**
 * The elements that can host a shadow root (`attachShadow` accepts these and custom elements, whose names hold a
 * `-`): for all others the walk does not ask, one call fewer per element.
 */
const SHADOW_HOST_TAGS: ReadonlySet<string> = new Set([
  'article',
  'aside',
  'blockquote',
  'body',
  'div',
  'footer',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'header',
  'main',
  'nav',
  'p',
  'section',
  'span',
]);

/** The element's open shadow root, if it can have one. */
function openShadowRoot(el: Element, tag: string): ShadowRoot | null {
  if (!SHADOW_HOST_TAGS.has(tag) && !tag.includes('-')) return null;
  return (el as Element & { shadowRoot?: ShadowRoot | null }).shadowRoot ?? null;
}

/** A cursor over the children of `el` in rendering order (a slot's assigned nodes, a shadow root's children). */
function childrenOf(el: Element, hooks: WalkHooks, block?: OpenBlock, separate?: boolean): Cursor {
  const tag = tagOf(el);
  if (tag === 'slot') {
    const assigned = (el as HTMLSlotElement).assignedNodes?.({ flatten: true }) ?? [];
    if (assigned.length > 0) return { next: null, list: assigned, index: 0, block, separate };
  }
  const shadow = openShadowRoot(el, tag);
  if (shadow) {
    hooks.onShadowRoot?.(shadow);
    return { next: shadow.firstChild, index: 0, block, separate };
  }
  return { next: el.firstChild, index: 0, block, separate };
}

/**
 * For an element with text children only (no child elements, no shadow root, not a slot): its text, read at once
 * with `textContent` (the data of its text and CDATA nodes, joined as the walk would join them), added to `parts`,
 * and an empty cursor that closes it. A walk over a large page then makes no wrapper objects for these text
 * nodes: on 200,000 nodes that is a quarter less CPU time in our slices and in V8's young-generation collections
 * inside them. Null for any other element.
 */
function leafCursor(el: Element, parts: string[], block?: OpenBlock, separate?: boolean): Cursor | null {
  if (el.firstElementChild !== null) return null;
  const tag = tagOf(el);
  if (tag === 'slot' || openShadowRoot(el, tag)) return null;
  const text = el.textContent;
  if (text) parts.push(text);
  return { next: null, index: 0, block, separate };
}

const CHECKPOINT_EVERY = 48;

/**
 * Walks `root` (a block, or `body`) and yields each block's own text once the block is done, nested blocks
 * first. Yields `null` every few dozen nodes.
 */
export function* walkBlocks(root: Element, hooks: WalkHooks = {}): Generator<FoundBlock | null, void, void> {
  // Editable regions are rare: find them once rather than asking every element.
  const editables = new Set<Element>();
  const findEditables = (scope: Element | ShadowRoot) => {
    for (const el of scope.querySelectorAll('[contenteditable]')) if (isEditable(el)) editables.add(el);
  };
  findEditables(root);
  const onShadowRoot = hooks.onShadowRoot;
  hooks = {
    ...hooks,
    onShadowRoot(shadow) {
      findEditables(shadow);
      onShadowRoot?.(shadow);
    },
  };
  const rootBlock: OpenBlock = { element: root, parts: [] };
  const blocks: OpenBlock[] = [rootBlock];
  const stack: Cursor[] = [childrenOf(root, hooks, rootBlock)];
  let visited = 0;
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    let node: Node | null;
    if (top.list) {
      node = top.list[top.index++] ?? null;
      // A slot's assigned nodes come from outside the walk's subtree: find their editable regions as well.
      if (node?.nodeType === ELEMENT_NODE) {
        if (isEditable(node as Element)) editables.add(node as Element);
        findEditables(node as Element);
      }
    } else {
      node = top.next;
      if (node) top.next = node.nextSibling;
    }
    if (!node) {
      stack.pop();
      if (top.block) {
        blocks.pop();
        const parent = blocks[blocks.length - 1];
        if (parent) parent.parts.push('\n');
        yield { element: top.block.element, text: normalizeText(top.block.parts.join('')) };
      } else if (top.separate) {
        blocks[blocks.length - 1]!.parts.push('\n');
      }
      continue;
    }
    if (++visited % CHECKPOINT_EVERY === 0) yield null;
    const type = node.nodeType;
    if (type === TEXT_NODE || type === CDATA_SECTION_NODE) {
      const data = (node as CharacterData).data;
      if (data) blocks[blocks.length - 1]!.parts.push(data);
      continue;
    }
    if (type !== ELEMENT_NODE) continue;
    const el = node as Element;
    const tag = tagOf(el);
    const current = blocks[blocks.length - 1]!;
    if (tag === 'br') {
      current.parts.push('\n');
      continue;
    }
    if (SKIP_TAGS.has(tag)) {
      if (BOXED_TAGS.has(tag)) current.parts.push(' ');
      // Images are reported even when invisible by visibility alone: "hide images until checked" does that.
      if (MEDIA_TAGS.has(tag) && hooks.onMedia && el.checkVisibility?.() !== false) hooks.onMedia(el);
      else if ((tag === 'iframe' || tag === 'frame') && hooks.onFrame && el.checkVisibility?.() !== false)
        hooks.onFrame(el as HTMLIFrameElement);
      continue;
    }
    if ((editables.size > 0 && editables.has(el)) || ownUi.has(el) || !isShown(el)) continue;
    if (BLOCK_TAGS.has(tag)) {
      current.parts.push('\n');
      if (hooks.isKnown?.(el)) continue;
      hooks.onElement?.(el);
      const block: OpenBlock = { element: el, parts: [] };
      blocks.push(block);
      stack.push(leafCursor(el, block.parts, block) ?? childrenOf(el, hooks, block));
      continue;
    }
    if (tag === 'a' || !INLINE_TAGS.has(tag)) hooks.onElement?.(el);
    let separate = false;
    if ((!INLINE_TAGS.has(tag) || lastCharIsText(current.parts)) && laidOutAsBlock(el)) {
      separate = true;
      current.parts.push('\n');
    }
    stack.push(
      leafCursor(el, current.parts, undefined, separate) ?? childrenOf(el, hooks, undefined, separate),
    );
  }
}

/** Runs a whole walk at once (tests, small roots). */
export function collectBlocks(root: Element, hooks: WalkHooks = {}): FoundBlock[] {
  const found: FoundBlock[] = [];
  for (const item of walkBlocks(root, hooks)) if (item) found.push(item);
  return found;
}
