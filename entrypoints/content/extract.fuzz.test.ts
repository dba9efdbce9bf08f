// @vitest-environment happy-dom
/**
 * Property-based tests of text extraction over random DOM trees: block and inline elements nested at random,
 * hidden by the `hidden` attribute, `display: none` or `visibility: hidden`, open shadow roots (with and without
 * a slot), form fields holding values, password fields, textareas, selects, contenteditable editors, script,
 * style, template and noscript, comments, and text of any script (RTL, CJK, control characters, lone
 * surrogates), and elements carrying Guardlens' own-UI attribute or tag planted by the page (read like any other).
 *
 * Every text node carries a unique token. The test builds the tree and, independently of `extract.ts`, knows
 * for each token whether a person sees it and, if so, which block it belongs to (the nearest block-level
 * element in the flattened tree). Properties: `walkBlocks` never throws; no token of a form value, a password
 * field, an editor or anything the page copied into a form field appears in any block; every visible token
 * appears exactly once, in its own block; nothing hidden or skipped appears.
 *
 * What counts as a form value (never read): an input's value and anything inside an `input`, `textarea`
 * (its text content is its value), `select`, `option`, `optgroup` or `datalist`, including text nodes and
 * elements a page appends there; an element with `contenteditable` (any value but "false") and everything
 * inside it, which is what the person is typing. Button captions are skipped too (not read, not secret).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { collectBlocks, isReadableRoot, nearestBlock, OWN_UI_ATTRIBUTE, walkBlocks } from './extract';

/** happy-dom has no user-agent stylesheet: the one rule of it these tests rely on (per tree: shadow roots too). */
const UA_CSS = '[hidden] { display: none }';

const BLOCKS = ['div', 'p', 'section', 'article', 'li', 'h2', 'blockquote', 'td'] as const;
/** `guardlens-ui` is the tag of Guardlens' own UI host: a page's own element of that name is read like any other. */
const INLINES = ['span', 'b', 'em', 'a', 'x-widget', 'guardlens-ui'] as const;
/** The tags above that `attachShadow` accepts in a browser (happy-dom accepts any). */
const SHADOW_HOSTS: ReadonlySet<string> = new Set([
  'div',
  'p',
  'section',
  'article',
  'h2',
  'blockquote',
  'span',
  'x-widget',
  'guardlens-ui',
]);
const NEVER_TEXT = ['script', 'style', 'template', 'noscript'] as const;
const FIELDS = ['input', 'password', 'textarea', 'select', 'option', 'datalist', 'editor'] as const;

type Hide = 'none' | 'hidden' | 'display' | 'visibility';

type Spec =
  | { kind: 'text'; noise: string }
  | { kind: 'comment' }
  | {
      kind: 'element';
      tag: string;
      block: boolean;
      hide: Hide;
      /** The page planted Guardlens' own-UI attribute: the element is still read. */
      planted: boolean;
      children: Spec[];
      shadow?: ShadowSpec;
    }
  | { kind: 'never'; tag: (typeof NEVER_TEXT)[number]; children: Spec[] }
  | { kind: 'field'; field: (typeof FIELDS)[number]; editable: string; children: Spec[] }
  | { kind: 'button'; children: Spec[] };

interface ShadowSpec {
  slot: boolean;
  /** An element of the shadow tree the slot sits in (a block, an inline, an editor), if any. */
  wrap?: { tag: string; hide: Hide; editable: boolean };
  before: Spec[];
  after: Spec[];
}

/** Characters from many scripts and the awkward corners of Unicode; brackets are kept for the tokens. */
const SPECIAL = [
  'مرحبا',
  'שלום',
  '日本語',
  '中文',
  '한국어',
  '\u200f',
  '\u202e',
  '\u0000',
  '\u0007',
  '\u001b',
  '\u00a0',
  '\u2028',
  '\t',
  '\n',
  ' ',
  '\ud800',
  '\udfff',
  '😀',
  'e\u0301',
  '<b>',
  '&amp;',
];

const noise = fc
  .array(
    fc.oneof(
      fc.constantFrom(...SPECIAL),
      fc.integer({ min: 0, max: 0x10ffff }).map((cp) => String.fromCodePoint(cp)),
    ),
    { maxLength: 6 },
  )
  .map((parts) => parts.join('').replace(/[[\]]/g, ''));

const hide = fc.constantFrom<Hide>('none', 'none', 'none', 'hidden', 'display', 'visibility');

const tree = fc.letrec<{ node: Spec; nodes: Spec[] }>((tie) => ({
  nodes: fc.array(tie('node'), { maxLength: 4 }),
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ kind: fc.constant('text' as const), noise }),
    fc.record({ kind: fc.constant('comment' as const) }),
    fc
      .record({
        kind: fc.constant('element' as const),
        tag: fc.constantFrom(...BLOCKS, ...INLINES),
        hide,
        planted: fc.boolean(),
        children: tie('nodes'),
        shadow: fc.option(
          fc.record(
            {
              slot: fc.boolean(),
              wrap: fc.record({ tag: fc.constantFrom(...BLOCKS, ...INLINES), hide, editable: fc.boolean() }),
              before: tie('nodes'),
              after: tie('nodes'),
            },
            { requiredKeys: ['slot', 'before', 'after'] },
          ),
          { nil: undefined, freq: 4 },
        ),
      })
      .map((e) => ({ ...e, block: (BLOCKS as readonly string[]).includes(e.tag) }) as Spec),
    fc.record({
      kind: fc.constant('never' as const),
      tag: fc.constantFrom(...NEVER_TEXT),
      children: tie('nodes'),
    }),
    fc.record({
      kind: fc.constant('field' as const),
      field: fc.constantFrom(...FIELDS),
      editable: fc.constantFrom('true', '', 'plaintext-only', 'TRUE'),
      children: tie('nodes'),
    }),
    fc.record({ kind: fc.constant('button' as const), children: tie('nodes') }),
  ),
}));

/** What the oracle knows about each token. */
interface Expectation {
  /** Visible text: the block it belongs to. */
  visible: Map<string, Element>;
  /** Form values, passwords, editors: must never appear. */
  secret: Set<string>;
  /** Hidden, skipped, comments: must not appear either. */
  unseen: Set<string>;
  /** The text node of each visible token. */
  nodes: Map<string, Text>;
}

type State = 'visible' | 'secret' | 'unseen';

class Builder {
  private next = 0;
  readonly expect: Expectation = {
    visible: new Map(),
    secret: new Set(),
    unseen: new Set(),
    nodes: new Map(),
  };

  private token(kind: string): string {
    return `[[${kind}${this.next++}]]`;
  }

  /** Text for a token: visible text also gets noise around it. */
  private text(state: State, block: Element, noiseText: string): Text {
    const token = this.token(state === 'visible' ? 'v' : state === 'secret' ? 's' : 'u');
    const node = document.createTextNode(`${noiseText}${token}${noiseText}`);
    if (state === 'visible') {
      this.expect.visible.set(token, block);
      this.expect.nodes.set(token, node);
    } else this.expect[state].add(token);
    return node;
  }

  private secretToken(): string {
    const token = this.token('s');
    this.expect.secret.add(token);
    return token;
  }

  /**
   * Appends `specs` under `parent` (a node of the DOM) and returns what renders there in the flattened tree, for
   * a host's slot: the oracle passes `block` (the nearest block in the flattened tree) and `state`.
   */
  build(parent: Node, specs: Spec[], block: Element, state: State): void {
    for (const spec of specs) parent.appendChild(this.node(spec, block, state));
  }

  private node(spec: Spec, block: Element, state: State): Node {
    switch (spec.kind) {
      case 'text':
        return this.text(state, block, spec.noise);
      case 'comment':
        return document.createComment(this.token('u'));
      case 'never': {
        const el = document.createElement(spec.tag);
        const inner = state === 'secret' ? 'secret' : 'unseen';
        if (spec.tag === 'template')
          this.build((el as HTMLTemplateElement).content, spec.children, block, inner);
        else this.build(el, spec.children, block, inner);
        el.appendChild(this.text(inner, block, ''));
        return el;
      }
      case 'button': {
        const el = document.createElement('button');
        this.build(el, spec.children, block, state === 'secret' ? 'secret' : 'unseen');
        return el;
      }
      case 'field':
        return this.field(spec, block, state);
      case 'element': {
        const el = document.createElement(spec.tag);
        if (spec.planted) el.setAttribute(OWN_UI_ATTRIBUTE, '');
        if (spec.hide === 'hidden') el.setAttribute('hidden', '');
        else if (spec.hide === 'display') el.setAttribute('style', 'display: none');
        else if (spec.hide === 'visibility') el.setAttribute('style', 'visibility: hidden');
        const own = state === 'visible' && spec.hide !== 'none' ? 'unseen' : state;
        const inner = spec.block ? el : block;
        // Browsers attach shadow roots only to some elements (and custom elements): for the others, none.
        if (!spec.shadow || !SHADOW_HOSTS.has(spec.tag)) {
          this.build(el, spec.children, inner, own);
          return el;
        }
        const shadow = el.attachShadow({ mode: 'open' });
        const ua = document.createElement('style');
        ua.textContent = UA_CSS;
        shadow.append(ua);
        this.build(shadow, spec.shadow.before, inner, own);
        // Light children render only where a slot puts them: in the slot's block, hidden or edited with it.
        const wrap = spec.shadow.wrap;
        let slotParent: Node = shadow;
        let slotBlock = inner;
        let slotted: State = spec.shadow.slot ? own : own === 'secret' ? 'secret' : 'unseen';
        if (spec.shadow.slot && wrap) {
          const w = document.createElement(wrap.tag);
          if (wrap.hide === 'hidden') w.setAttribute('hidden', '');
          else if (wrap.hide === 'display') w.setAttribute('style', 'display: none');
          else if (wrap.hide === 'visibility') w.setAttribute('style', 'visibility: hidden');
          if (wrap.editable) w.setAttribute('contenteditable', 'true');
          if ((BLOCKS as readonly string[]).includes(wrap.tag)) slotBlock = w;
          if (wrap.editable && slotted !== 'unseen') slotted = 'secret';
          else if (wrap.hide !== 'none' && slotted === 'visible') slotted = 'unseen';
          shadow.append(w);
          slotParent = w;
        }
        this.build(el, spec.children, slotBlock, slotted);
        if (spec.shadow.slot) slotParent.appendChild(document.createElement('slot'));
        this.build(shadow, spec.shadow.after, inner, own);
        return el;
      }
    }
  }

  private field(spec: Extract<Spec, { kind: 'field' }>, block: Element, state: State): Node {
    let el: HTMLElement;
    switch (spec.field) {
      case 'input':
      case 'password': {
        const input = document.createElement('input');
        if (spec.field === 'password') input.type = 'password';
        input.setAttribute('value', this.secretToken());
        input.value = this.secretToken();
        el = input;
        break;
      }
      case 'textarea': {
        const area = document.createElement('textarea');
        area.textContent = this.secretToken();
        el = area;
        break;
      }
      case 'select': {
        el = document.createElement('select');
        const option = document.createElement('option');
        option.textContent = this.secretToken();
        option.value = this.secretToken();
        el.append(option);
        break;
      }
      case 'option':
      case 'datalist': {
        el = document.createElement(spec.field);
        el.textContent = this.secretToken();
        break;
      }
      case 'editor': {
        el = document.createElement(['div', 'p', 'span'][this.next % 3]!);
        el.setAttribute('contenteditable', spec.editable);
        break;
      }
    }
    // Whatever a page puts inside a form field or editor (copied values included) is never read.
    this.build(el, spec.children, block, state === 'visible' ? 'secret' : state);
    return el;
  }
}

function setUp(specs: Spec[]): { root: HTMLElement; expect: Expectation } {
  document.head.innerHTML = `<style>${UA_CSS}</style>`;
  document.body.innerHTML = '';
  const root = document.createElement('div');
  document.body.append(root);
  const builder = new Builder();
  builder.build(root, specs, root, 'visible');
  return { root, expect: builder.expect };
}

const TOKEN_RE = /\[\[([vsu]\d+)\]\]/g;

afterEach(() => {
  document.body.innerHTML = '';
});

describe('text extraction over random DOM trees', () => {
  it('never throws, never reads a form value, and puts every visible text node in exactly one block', () => {
    fc.assert(
      fc.property(fc.array(tree.node, { maxLength: 6 }), (specs) => {
        const { root, expect: oracle } = setUp(specs);
        const blocks = collectBlocks(root);
        const seen = new Map<string, Element[]>();
        for (const block of blocks)
          for (const match of block.text.matchAll(TOKEN_RE)) {
            const token = match[0];
            seen.set(token, [...(seen.get(token) ?? []), block.element]);
          }
        for (const token of oracle.secret)
          expect(seen.has(token), `form value ${token} was read`).toBe(false);
        for (const token of oracle.unseen) expect(seen.has(token), `hidden ${token} was read`).toBe(false);
        for (const [token, block] of oracle.visible) {
          const where = seen.get(token) ?? [];
          expect(where, `visible ${token}`).toHaveLength(1);
          expect(where[0], `block of ${token}`).toBe(block);
        }
        for (const token of seen.keys()) expect(oracle.visible.has(token), `unexpected ${token}`).toBe(true);
        // A change to a text node re-walks its nearest block: the block the walk put its text in.
        for (const [token, node] of oracle.nodes)
          expect(nearestBlock(node), `nearest block of ${token}`).toBe(oracle.visible.get(token));
      }),
      { numRuns: 300 },
    );
  });

  it('a re-walk from any element the scan may start at never reads a form value', () => {
    fc.assert(
      fc.property(fc.array(tree.node, { maxLength: 6 }), (specs) => {
        const { root, expect: oracle } = setUp(specs);
        // Every element of the tree, shadow roots included: where a change could start a re-walk.
        const elements: Element[] = [];
        const visit = (scope: Element | ShadowRoot) => {
          for (const el of scope.querySelectorAll('*')) {
            elements.push(el);
            if (el.shadowRoot) visit(el.shadowRoot);
          }
        };
        visit(root);
        for (const el of elements) {
          if (!isReadableRoot(el)) continue;
          for (const block of collectBlocks(el))
            for (const match of block.text.matchAll(TOKEN_RE))
              expect(oracle.secret.has(match[0]), `form value ${match[0]} read from <${el.localName}>`).toBe(
                false,
              );
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a walk in slices yields the same blocks, and walking a hostile tree step by step never throws', () => {
    fc.assert(
      fc.property(fc.array(tree.node, { maxLength: 6 }), (specs) => {
        const { root } = setUp(specs);
        const whole = collectBlocks(root).map((b) => [b.element, b.text]);
        const sliced: unknown[] = [];
        for (const item of walkBlocks(root)) if (item) sliced.push([item.element, item.text]);
        expect(sliced).toEqual(whole);
      }),
      { numRuns: 100 },
    );
  });

  it('a re-walk of a shadow block never reads a contenteditable slotted into it (found by fuzzing)', () => {
    document.body.innerHTML = '<div id="host"><div contenteditable="true">SECRET-slotted-draft</div></div>';
    const shadow = document.getElementById('host')!.attachShadow({ mode: 'open' });
    shadow.innerHTML = '<p id="sp">Write here: <slot></slot></p>';
    const p = shadow.getElementById('sp')!;
    expect(isReadableRoot(p)).toBe(true);
    const text = collectBlocks(p)
      .map((b) => b.text)
      .join('\n');
    expect(text).toContain('Write here:');
    expect(text).not.toContain('SECRET');
  });

  it('a slotted element is read in, and re-walked from, the block its slot sits in; not inside a shadow editor (found by fuzzing)', () => {
    document.body.innerHTML =
      '<div id="card"><span id="title">Card title</span></div><div id="ed"><p id="draft">SECRET-typed</p></div>';
    const card = document.getElementById('card')!.attachShadow({ mode: 'open' });
    card.innerHTML = '<h2 id="heading"><slot></slot></h2>';
    const editor = document.getElementById('ed')!.attachShadow({ mode: 'open' });
    editor.innerHTML = '<div contenteditable="true"><slot></slot></div>';
    const title = document.getElementById('title')!.firstChild!;
    expect(nearestBlock(title)).toBe(card.getElementById('heading'));
    expect(isReadableRoot(document.getElementById('draft')!)).toBe(false);
    const all = collectBlocks(document.body)
      .map((b) => b.text)
      .join('\n');
    expect(all).toContain('Card title');
    expect(all).not.toContain('SECRET');
  });

  it('never reads values a page copies into text nodes inside fields, nor what is typed into them', () => {
    document.head.innerHTML = `<style>${UA_CSS}</style>`;
    document.body.innerHTML = `<div id="root"><p id="p">before
      <input id="i" value="SECRET-attr"><input id="pw" type="password">
      <textarea id="t">SECRET-default</textarea>
      <select id="s"><optgroup label="SECRET-group"><option>SECRET-option</option></optgroup></select>
      <span contenteditable="plaintext-only">SECRET-plain</span>
      <div contenteditable=""><p>SECRET-empty-attr</p><span contenteditable="false">SECRET-island</span></div>
      after</p></div>`;
    const input = document.getElementById('i') as HTMLInputElement;
    const password = document.getElementById('pw') as HTMLInputElement;
    input.value = 'SECRET-typed';
    password.value = 'SECRET-password';
    // A page that copies the values into text nodes inside the fields themselves.
    input.append(document.createTextNode(input.value));
    password.append(document.createTextNode(password.value));
    const span = document.createElement('span');
    span.textContent = 'SECRET-in-span';
    password.append(span);
    (document.getElementById('t') as HTMLTextAreaElement).value = 'SECRET-typed-area';
    document.getElementById('t')!.append(document.createTextNode('SECRET-appended'));
    document.getElementById('s')!.append(document.createTextNode('SECRET-select-text'));
    const text = collectBlocks(document.getElementById('root')!)
      .map((b) => b.text)
      .join('\n');
    expect(text).toContain('before');
    expect(text).toContain('after');
    expect(text).not.toContain('SECRET');
  });
});
