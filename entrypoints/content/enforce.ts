/**
 * Enforces verdicts on the page through one injected stylesheet and data attributes (sites rewrite inline
 * styles, not attributes they do not know). A flagged element carries `data-guardlens="flagged"`,
 * `data-guardlens-categories="S1 S10"` and `data-guardlens-action` (blur, hide or label); a blurred element the
 * person revealed also carries `data-guardlens-revealed`. An image that could not be checked while images are
 * hidden until checked, with the fail mode closed, is `data-guardlens="unchecked"` and blurred.
 *
 * The attributes are output only: what is flagged, and whether the person revealed it, lives in this module's
 * own state (a WeakMap keyed by element). A page that plants the attributes changes nothing Guardlens knows; a
 * page that removes or rewrites them, removes or edits the stylesheet, or overrides the blur with inline styles
 * or its own CSS gets them put back (`Guard`): the blur stays until the person reveals it from its label.
 * Repairs are capped per element and stylesheet (a burst, then at most once a second), so a page that keeps
 * undoing them cannot make this script spin.
 */
import type { PageVerdict } from '@/utils/messages';

export const STYLE_ATTRIBUTE = 'data-guardlens-style';
export const FLAG_ATTRIBUTE = 'data-guardlens';
export const CATEGORIES_ATTRIBUTE = 'data-guardlens-categories';
export const ACTION_ATTRIBUTE = 'data-guardlens-action';
export const REVEALED_ATTRIBUTE = 'data-guardlens-revealed';
/** Image state while images are hidden until checked: `pending` or `done`. */
export const IMAGE_ATTRIBUTE = 'data-guardlens-img';

/** The blur, also written inline (important) when a page's own styles win over the stylesheet. */
export const BLUR_FILTER = 'blur(14px)';

const BASE_CSS = `
[data-guardlens="flagged"][data-guardlens-action="blur"]:not([data-guardlens-revealed]),
[data-guardlens="unchecked"]:not([data-guardlens-revealed]) {
  filter: ${BLUR_FILTER} !important; user-select: none !important;
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

/** Repairs of one element (or stylesheet) made at once within a window; past it, at most one per second. */
export const REPAIR_BURST = 20;
export const REPAIR_WINDOW_MS = 10_000;
export const REPAIR_THROTTLE_MS = 1000;

type Flag = 'flagged' | 'unchecked';

/** What Guardlens knows about a marked element; the attributes only mirror it. */
interface Mark {
  flag: Flag;
  categories: string[];
  action: string;
  revealed: boolean;
  /** Properties this module wrote inline because the page's styles won over the stylesheet. */
  forced: Set<'filter' | 'display'>;
}

const marks = new WeakMap<Element, Mark>();
/** The marked elements, for checks after the page moves things around. Dropped once disconnected and cleared. */
const marked = new Set<Element>();
/** The stylesheet this module put into each document or shadow root: found by identity, never by attribute. */
const ownStyles = new Map<Document | ShadowRoot, HTMLStyleElement>();

let hideImages = false;

/** Turns on "hide images until checked" for the stylesheets this script injects from now on. */
export function setHideImages(on: boolean): void {
  hideImages = on;
  const style = ownStyles.get(document);
  if (style) style.textContent = cssFor(document);
}

function cssFor(root: Document | ShadowRoot): string {
  return root.nodeType === 9 && hideImages ? BASE_CSS + HIDE_IMAGES_CSS : BASE_CSS;
}

/** Whether `style` is this module's stylesheet for `root`, in place and as written. */
function styleIntact(root: Document | ShadowRoot, style: HTMLStyleElement | undefined): boolean {
  if (!style?.isConnected || style.getRootNode() !== root) return false;
  if (style.textContent !== cssFor(root)) return false;
  for (const attr of style.attributes) if (attr.name !== STYLE_ATTRIBUTE) return false;
  return !style.sheet?.disabled;
}

/** Adds the stylesheet to a document or shadow root once (again, if the page removed or changed it). */
export function ensureStyle(root: Document | ShadowRoot = document): void {
  const current = ownStyles.get(root);
  if (styleIntact(root, current)) return;
  current?.remove();
  const doc = root.nodeType === 9 ? (root as Document) : root.ownerDocument!;
  const style = doc.createElement('style');
  style.setAttribute(STYLE_ATTRIBUTE, '');
  style.textContent = cssFor(root);
  if (root.nodeType === 9) {
    const d = root as Document;
    const parent = d.head ?? d.documentElement;
    if (!parent) return;
    parent.append(style);
  } else root.append(style);
  ownStyles.set(root, style);
  guard.watchStyle(root, style);
}

/**
 * Removes the stylesheets and stops watching the page (the script is going away): those of the document and of
 * every shadow root and same-origin frame document the script put one into.
 */
export function removeStyles(): void {
  guard.stop();
  for (const style of ownStyles.values()) style.remove();
  ownStyles.clear();
}

function styleRootOf(element: Element): Document | ShadowRoot {
  const root = element.getRootNode();
  return root.nodeType === 11 ? (root as ShadowRoot) : element.ownerDocument;
}

/** Marks a flagged element. Returns false when the person's action for its categories is to ignore them. */
export function applyVerdict(element: Element, verdict: Pick<PageVerdict, 'categories' | 'action'>): boolean {
  if (verdict.action === 'ignore' || verdict.categories.length === 0) return false;
  const previous = marks.get(element);
  const mark: Mark =
    previous?.flag === 'flagged'
      ? previous
      : {
          flag: 'flagged',
          categories: [],
          action: '',
          revealed: false,
          forced: previous?.forced ?? new Set(),
        };
  for (const code of verdict.categories) if (!mark.categories.includes(code)) mark.categories.push(code);
  mark.action = strongest(mark.action, verdict.action);
  track(element, mark);
  return true;
}

const STRENGTH: Record<string, number> = { label: 1, blur: 2, hide: 3 };

function strongest(previous: string, next: string): string {
  return previous && (STRENGTH[previous] ?? 0) > (STRENGTH[next] ?? 0) ? previous : next;
}

/** Covers an image that could not be checked (fail mode closed). */
export function markUnchecked(element: Element): void {
  if (marks.has(element)) return;
  track(element, { flag: 'unchecked', categories: [], action: '', revealed: false, forced: new Set() });
}

function track(element: Element, mark: Mark): void {
  marks.set(element, mark);
  marked.add(element);
  ensureStyle(styleRootOf(element));
  writeAttributes(element, mark);
  guard.watch(element);
}

/** Whether the person revealed a flagged element (an attribute the page sets does not count). */
export function isRevealed(element: Element): boolean {
  return marks.get(element)?.revealed ?? false;
}

/** Reveals a marked element, or covers it again. Called for the person's own action only. */
export function setRevealed(element: Element, revealed: boolean): void {
  const mark = marks.get(element);
  if (!mark) return;
  mark.revealed = revealed;
  writeAttributes(element, mark);
  enforceStyle(element, mark);
}

/** Whether Guardlens flagged (or covered) this element; attributes the page planted do not count. */
export function isMarked(element: Element): boolean {
  return marks.has(element);
}

/** Removes every mark Guardlens put on an element. */
export function clearMarks(element: Element): void {
  const mark = marks.get(element);
  marks.delete(element);
  marked.delete(element);
  if (mark) unforce(element, mark);
  for (const name of [
    FLAG_ATTRIBUTE,
    CATEGORIES_ATTRIBUTE,
    ACTION_ATTRIBUTE,
    REVEALED_ATTRIBUTE,
    IMAGE_ATTRIBUTE,
  ])
    element.removeAttribute(name);
}

function setAttr(element: Element, name: string, value: string | null): void {
  if (value === null) {
    if (element.hasAttribute(name)) element.removeAttribute(name);
  } else if (element.getAttribute(name) !== value) element.setAttribute(name, value);
}

function writeAttributes(element: Element, mark: Mark): void {
  const flagged = mark.flag === 'flagged';
  setAttr(element, FLAG_ATTRIBUTE, mark.flag);
  setAttr(element, CATEGORIES_ATTRIBUTE, flagged ? mark.categories.join(' ') : null);
  setAttr(element, ACTION_ATTRIBUTE, flagged ? mark.action : null);
  setAttr(element, REVEALED_ATTRIBUTE, mark.revealed ? '' : null);
}

/** What the element must look like: blurred, hidden, or as the page made it. */
function wanted(mark: Mark): 'blur' | 'hide' | null {
  if (mark.flag === 'unchecked') return mark.revealed ? null : 'blur';
  if (mark.action === 'hide') return 'hide';
  if (mark.action === 'blur' && !mark.revealed) return 'blur';
  return null;
}

function inlineStyle(element: Element): CSSStyleDeclaration | undefined {
  return (element as HTMLElement).style;
}

function unforce(element: Element, mark: Mark): void {
  const style = inlineStyle(element);
  for (const property of mark.forced) style?.removeProperty(property);
  mark.forced.clear();
}

/**
 * Checks what the element computes to and, when the page's own styles (inline `!important`, a stronger rule, a
 * removed stylesheet) undo the blur or hiding, writes it inline with `!important`, which nothing of the page's
 * stylesheets can override. Inline properties written earlier are taken back once no longer needed.
 */
function enforceStyle(element: Element, mark: Mark): void {
  const want = wanted(mark);
  const style = inlineStyle(element);
  if (!style) return;
  for (const property of [...mark.forced]) {
    if (want !== (property === 'filter' ? 'blur' : 'hide')) {
      style.removeProperty(property);
      mark.forced.delete(property);
    }
  }
  if (!want || !element.isConnected) return;
  let computed: CSSStyleDeclaration;
  try {
    computed = getComputedStyle(element);
  } catch {
    return;
  }
  if (want === 'blur' && !computed.filter.includes('blur')) {
    style.setProperty('filter', BLUR_FILTER, 'important');
    mark.forced.add('filter');
  } else if (want === 'hide' && computed.display !== 'none') {
    style.setProperty('display', 'none', 'important');
    mark.forced.add('display');
  }
}

/** Counts repairs per element or stylesheet: a burst at once, then the caller waits. */
export class RepairBudget {
  private readonly spent = new WeakMap<object, { start: number; count: number }>();

  constructor(
    private readonly burst = REPAIR_BURST,
    private readonly windowMs = REPAIR_WINDOW_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True when `key` may be repaired now. */
  take(key: object): boolean {
    const now = this.now();
    let entry = this.spent.get(key);
    if (!entry || now - entry.start >= this.windowMs) {
      entry = { start: now, count: 0 };
      this.spent.set(key, entry);
    }
    entry.count++;
    return entry.count <= this.burst;
  }
}

/** Attributes whose change on a marked element may undo its mark. */
const WATCHED_ATTRIBUTES = [
  FLAG_ATTRIBUTE,
  CATEGORIES_ATTRIBUTE,
  ACTION_ATTRIBUTE,
  REVEALED_ATTRIBUTE,
  'style',
  'class',
  'id',
];

function attributesIntact(element: Element, mark: Mark): boolean {
  const flagged = mark.flag === 'flagged';
  return (
    element.getAttribute(FLAG_ATTRIBUTE) === mark.flag &&
    element.getAttribute(CATEGORIES_ATTRIBUTE) === (flagged ? mark.categories.join(' ') : null) &&
    element.getAttribute(ACTION_ATTRIBUTE) === (flagged ? mark.action : null) &&
    element.hasAttribute(REVEALED_ATTRIBUTE) === mark.revealed
  );
}

/** Whether the element computes to what its mark wants (the page's styles have not undone it). */
function styleHolds(element: Element, mark: Mark): boolean {
  const want = wanted(mark);
  if (!want) return true;
  try {
    const computed = getComputedStyle(element);
    return want === 'blur' ? computed.filter.includes('blur') : computed.display === 'none';
  } catch {
    return true;
  }
}

/**
 * Watches the page for changes that undo Guardlens' marks, and only those: attribute changes on marked
 * elements, changes to its own stylesheets, elements moved into another root, and style sheets the page adds.
 * It runs only while something is marked. Checks are cheap (attribute compares); the computed style is read only
 * for a marked element whose attributes changed, or after the page added or changed style sheets.
 */
class Guard {
  private observer: MutationObserver | null = null;
  private observed = new WeakSet<Node>();
  private readonly budget = new RepairBudget();
  private readonly deferred = new Set<Element | Document | ShadowRoot>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  watch(element: Element): void {
    this.observeRoot(styleRootOf(element));
    // Attributes of marked elements only: the page's other attribute changes never reach this script.
    this.observer?.observe(element, { attributes: true, attributeFilter: WATCHED_ATTRIBUTES });
  }

  watchStyle(root: Document | ShadowRoot, style: HTMLStyleElement): void {
    this.observeRoot(root);
    this.observer?.observe(style, { characterData: true, childList: true, subtree: true, attributes: true });
  }

  stop(): void {
    this.observer?.disconnect();
    this.observer = null;
    this.observed = new WeakSet();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.deferred.clear();
  }

  private observeRoot(root: Document | ShadowRoot): void {
    if (typeof MutationObserver !== 'function') return;
    if (!this.observer) this.observer = new MutationObserver((records) => this.onRecords(records));
    if (this.observed.has(root)) return;
    this.observed.add(root);
    this.observer.observe(root, { childList: true, subtree: true });
  }

  private onRecords(first: MutationRecord[]): void {
    let records = first;
    // The records of this callback's own repairs come back once and find nothing to do; a page's records queued
    // behind them are not lost.
    for (let round = 0; round < 3 && records.length > 0; round++) {
      this.process(records);
      records = this.observer?.takeRecords() ?? [];
    }
  }

  private process(records: MutationRecord[]): void {
    /** Marked elements whose own attributes changed: their computed style is checked. */
    const touched = new Set<Element>();
    let moved = false;
    let sheets = false;
    const styleNodes = new Set<Node>(ownStyles.values());
    for (const record of records) {
      const target = record.target;
      if (styleNodes.has(target) || (target.parentNode && styleNodes.has(target.parentNode))) {
        sheets = true;
        continue;
      }
      if (record.type === 'attributes') {
        if (marks.has(target as Element)) touched.add(target as Element);
        continue;
      }
      if (record.type !== 'childList') continue;
      for (const node of record.removedNodes) {
        if (styleNodes.has(node)) sheets = true;
        else if (node.nodeType === 1) moved = true; // maybe into a root not watched yet
      }
      for (const node of record.addedNodes) {
        if (node.nodeType !== 1 || styleNodes.has(node)) continue;
        moved = true;
        const tag = (node as Element).localName;
        if (tag === 'style' || tag === 'link') sheets = true;
      }
    }
    if (touched.size === 0 && !moved && !sheets) return;
    for (const element of moved || sheets ? [...marked] : touched) {
      if (!element.isConnected) {
        if (!touched.has(element)) marked.delete(element);
        continue;
      }
      const mark = marks.get(element);
      if (mark) this.check(element, mark, sheets || touched.has(element));
    }
  }

  private check(element: Element, mark: Mark, computed: boolean): void {
    marked.add(element);
    const root = styleRootOf(element);
    this.observeRoot(root);
    if (!styleIntact(root, ownStyles.get(root))) {
      if (this.budget.take(root)) ensureStyle(root);
      else this.defer(root);
    }
    if (attributesIntact(element, mark) && (!computed || styleHolds(element, mark))) return;
    if (!this.budget.take(element)) {
      this.defer(element);
      return;
    }
    writeAttributes(element, mark);
    enforceStyle(element, mark);
  }

  /** Past the burst: one repair a second, for everything waiting. */
  private defer(target: Element | Document | ShadowRoot): void {
    this.deferred.add(target);
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const targets = [...this.deferred];
      this.deferred.clear();
      for (const target of targets) {
        if (target.nodeType !== 1) {
          ensureStyle(target as Document | ShadowRoot);
          continue;
        }
        const element = target as Element;
        const mark = marks.get(element);
        if (!mark || !element.isConnected) continue;
        const root = styleRootOf(element);
        if (!styleIntact(root, ownStyles.get(root))) ensureStyle(root);
        writeAttributes(element, mark);
        enforceStyle(element, mark);
      }
      this.observer?.takeRecords();
    }, REPAIR_THROTTLE_MS);
  }
}

const guard = new Guard();
