// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import {
  collectBlocks,
  hasLetters,
  isReadableRoot,
  markOwnUi,
  nearestBlock,
  normalizeText,
  OWN_UI_ATTRIBUTE,
  walkBlocks,
  withoutMarkup,
} from './extract';

/** happy-dom has no user-agent stylesheet: the one rule of it these tests rely on. */
const UA_STYLE = '<style>[hidden] { display: none }</style>';

function page(html: string): HTMLElement {
  document.head.innerHTML = UA_STYLE;
  document.body.innerHTML = html;
  return document.body;
}

/** Blocks with text, as `tag#id: text` (or `tag: text`). */
function texts(root: Element = document.body, isKnown?: (el: Element) => boolean): string[] {
  return collectBlocks(root, isKnown ? { isKnown } : {})
    .filter((b) => b.text)
    .map((b) => `${b.element.localName}${b.element.id ? `#${b.element.id}` : ''}: ${b.text}`);
}

afterEach(() => {
  document.body.innerHTML = '';
});

describe('blocks', () => {
  it('groups text by its nearest block; a nested block keeps its own text out of its parent', () => {
    page(`
      <div id="outer">Intro text
        <p id="p1">First <b>bold</b> paragraph.</p>
        tail text
        <ul><li id="li1">Item <a href="#">one</a></li><li id="li2">Item two</li></ul>
      </div>
      <table><tr><th id="h">Head</th><td id="c">Cell <em>text</em></td></tr></table>
      <h2 id="t">Title</h2>`);
    expect(texts()).toEqual([
      'p#p1: First bold paragraph.',
      'li#li1: Item one',
      'li#li2: Item two',
      'div#outer: Intro text tail text',
      'th#h: Head',
      'td#c: Cell text',
      'h2#t: Title',
    ]);
  });

  it('normalizes whitespace; inline elements join without a space, line breaks and boxes separate words', () => {
    page(`<p id="a">  wo<b>rd</b>s \n\t and\u00a0 more  </p><p id="b">one<br>two<img alt="">three</p>`);
    expect(texts()).toEqual(['p#a: words and more', 'p#b: one two three']);
  });

  it('keeps a separator where a nested block interrupts its parent', () => {
    page('<div id="d">before<div id="inner">middle</div>after</div>');
    expect(texts()).toEqual(['div#inner: middle', 'div#d: before after']);
  });

  it('separates inline elements the page lays out as blocks', () => {
    page(
      '<p id="p"><span style="display:block">Title</span><span style="display:block">Subtitle</span></p>' +
        '<p id="q"><x-card>Card</x-card><x-card style="display:block">Next</x-card></p>',
    );
    expect(texts()).toEqual(['p#p: Title Subtitle', 'p#q: Card Next']);
  });

  it('reports each block once, nested blocks before their parent', () => {
    page('<section id="s"><article id="a"><p id="p">x</p>y</article>z</section>');
    const order = collectBlocks(document.body).map((b) => b.element.id || b.element.localName);
    expect(order).toEqual(['p', 'a', 's', 'body']);
  });

  it('yields checkpoints so a caller can slice the work', () => {
    page(Array.from({ length: 200 }, (_, i) => `<p>paragraph ${i}</p>`).join(''));
    const items = [...walkBlocks(document.body)];
    expect(items.filter((i) => i === null).length).toBeGreaterThan(3);
    expect(items.filter((i) => i !== null).length).toBe(201);
  });

  it('does not enter blocks the caller already knows', () => {
    page('<div id="d">top<p id="known">old <span>text</span></p><p id="new">new text</p></div>');
    const known = document.getElementById('known')!;
    expect(texts(document.body, (el) => el === known)).toEqual(['p#new: new text', 'div#d: top']);
  });
});

describe('what is never read', () => {
  it('skips script, style, template, noscript and other non-text elements', () => {
    page(`<p id="p">Visible<script>var secret = 1;</script><style>.x{}</style>
      <template><p>template text</p></template><noscript>noscript text</noscript>
      <svg><text>svg text</text></svg><object>object text</object>.</p>`);
    expect(texts()).toEqual(['p#p: Visible .']);
  });

  it('never reads form field values, password fields, select options or editable regions', () => {
    page(`<form id="f">
      <label id="l">Name</label> <input value="typed-name">
      <input type="password" value="hunter2-password">
      <textarea>typed-textarea</textarea>
      <select><option>option-text</option></select>
      <button>button-text</button>
      <div contenteditable="true"><p>editable-draft</p></div>
      <div contenteditable="false" id="ce">not editable</div>
    </form>`);
    const input = document.querySelector('input')!;
    input.value = 'changed-value';
    const all = texts().join('\n');
    for (const secret of [
      'typed-name',
      'changed-value',
      'hunter2',
      'typed-textarea',
      'option-text',
      'button-text',
      'editable-draft',
    ])
      expect(all).not.toContain(secret);
    expect(all).toContain('Name');
    expect(all).toContain('not editable');
  });

  it('skips hidden elements: display none, visibility hidden, the hidden attribute, hidden inline text', () => {
    page(`<p id="shown">shown <span style="display:none">inline-hidden</span>text</p>
      <p style="display:none">display-none</p>
      <div style="visibility:hidden"><p>visibility-hidden</p></div>
      <p hidden>attribute-hidden</p>
      <div style="display:none"><div><p>deep-hidden</p></div></div>
      <div style="display:contents"><p id="contents">inside display contents</p></div>`);
    expect(texts()).toEqual(['p#shown: shown text', 'p#contents: inside display contents']);
  });

  it("skips Guardlens' own UI, known by identity: a page's look-alike is read", () => {
    page(
      `<p id="p">page text</p><div id="ui"><p>Flagged: Hate</p></div><guardlens-ui ${OWN_UI_ATTRIBUTE}><p id="fake">planted text</p></guardlens-ui>`,
    );
    markOwnUi(document.getElementById('ui')!);
    expect(texts()).toContain('p#p: page text');
    expect(texts()).toContain('p#fake: planted text');
    expect(texts().join()).not.toContain('Flagged: Hate');
  });
});

describe('shadow roots', () => {
  it('reads open shadow roots in rendering order, with slotted light children', () => {
    page('<div id="host"><span>slotted light text</span></div><p id="after">after</p>');
    const host = document.getElementById('host')!;
    const shadow = host.attachShadow({ mode: 'open' });
    shadow.innerHTML = '<h3 id="sh">Shadow heading</h3><p id="sp">Before <slot></slot> after</p>';
    const seen: ShadowRoot[] = [];
    const found = collectBlocks(document.body, { onShadowRoot: (r) => seen.push(r) })
      .filter((b) => b.text)
      .map((b) => `${b.element.id}: ${b.text}`);
    expect(found).toEqual(['sh: Shadow heading', 'sp: Before slotted light text after', 'after: after']);
    expect(seen).toEqual([shadow]);
  });

  it('finds the nearest block across a shadow boundary', () => {
    page('<p id="outer"><x-inline id="host"></x-inline></p>');
    const shadow = document.getElementById('host')!.attachShadow({ mode: 'open' });
    shadow.innerHTML = '<b>deep</b>';
    const text = shadow.querySelector('b')!.firstChild!;
    expect(nearestBlock(text)).toBe(document.getElementById('outer'));
    expect(texts()).toEqual(['p#outer: deep']);
  });
});

describe('languages', () => {
  it('keeps right-to-left and CJK text intact', () => {
    page(`<p id="ar" dir="rtl">مرحبا   بالعالم، هذا نص عربي.</p><p id="he" dir="rtl">שלום <b>עולם</b></p>
      <p id="ja">日本語の<ruby>漢字<rt>かんじ</rt></ruby>です。</p><p id="zh">中文段落，没有空格。</p>
      <p id="ko">한국어 문장입니다.</p>`);
    expect(texts()).toEqual([
      'p#ar: مرحبا بالعالم، هذا نص عربي.',
      'p#he: שלום עולם',
      'p#ja: 日本語の漢字かんじです。',
      'p#zh: 中文段落，没有空格。',
      'p#ko: 한국어 문장입니다.',
    ]);
  });

  it('counts letters of any script, not numbers or punctuation alone', () => {
    expect(hasLetters('12:04:55')).toBe(false);
    expect(hasLetters('— 42 —')).toBe(false);
    expect(hasLetters('日本')).toBe(true);
    expect(hasLetters('مرحبا')).toBe(true);
    expect(hasLetters('3 comments')).toBe(true);
    expect(normalizeText(' a \n\u2003 b ')).toBe('a b');
  });
});

describe('roots of a re-walk', () => {
  it('refuses roots inside skipped, editable, hidden or own-UI elements', () => {
    page(`<p id="ok">ok</p><div contenteditable><p id="ed">draft</p></div>
      <div style="display:none"><p id="hid">x</p></div><div id="ui"><p id="own">x</p></div>`);
    const byId = (id: string) => document.getElementById(id)!;
    markOwnUi(byId('ui'));
    expect(isReadableRoot(byId('ok'))).toBe(true);
    expect(isReadableRoot(byId('ed'))).toBe(false);
    expect(isReadableRoot(byId('hid'))).toBe(false);
    expect(isReadableRoot(byId('own'))).toBe(false);
    const detached = document.createElement('p');
    expect(isReadableRoot(detached)).toBe(false);
  });

  it('reports media to onMedia and other elements to onElement', () => {
    page(
      '<p>text <img id="i" src="data:image/png;base64,AA=="></p><video id="v" poster="p.jpg"></video><div id="d"></div>',
    );
    const media: string[] = [];
    const others: string[] = [];
    collectBlocks(document.body, {
      onMedia: (el) => media.push(el.id),
      onElement: (el) => others.push(el.localName),
    });
    expect(media).toEqual(['i', 'v']);
    expect(others).toContain('div');
    expect(others).toContain('p');
  });
});

describe('markup shown as text', () => {
  it('leaves out tags a script printed as text, with their changing cache-busting numbers', () => {
    const herald = `<script src="http://tags.example.com/prod/utrack/utrack.js?cb=${Date.now()}"></script>`;
    expect(withoutMarkup(herald)).toBe('');
    const webmd = `<img src=//bi.example.com/pi/global/x-1x1.gif?${Date.now()}" alt="" height="1" width="1" border="0" />`;
    expect(withoutMarkup(webmd)).toBe('');
    // The changing number is gone; the text around stays.
    expect(withoutMarkup(`${herald} Angry media won’t buckle`)).toBe('</script> Angry media won’t buckle');
  });

  it('keeps text around and between tags, comparisons and tags whose attributes hold words', () => {
    expect(withoutMarkup('Use <b>bold</b> sparingly')).toBe('Use <b>bold</b> sparingly');
    expect(withoutMarkup('Single <img>')).toBe('Single <img>');
    expect(withoutMarkup('</script>')).toBe('</script>');
    expect(withoutMarkup('<a href="/x">Read the story</a> now')).toBe('Read the story</a> now');
    expect(withoutMarkup('if a < b and c > d')).toBe('if a < b and c > d');
    expect(withoutMarkup('x<3 forever')).toBe('x<3 forever');
    const wordy = '<img alt="how to hurt someone badly" src="a.png">';
    expect(withoutMarkup(wordy)).toBe(wordy);
    expect(withoutMarkup('no tags at all')).toBe('no tags at all');
    // A sentence a page puts between angle brackets is read by the person, so it is checked.
    const angled = '<Angle brackets around GLTEST-S3 a sentence the page hides>';
    expect(withoutMarkup(angled)).toBe(angled);
    const padded = '<img src=x how to hurt someone badly>';
    expect(withoutMarkup(padded)).toBe(padded);
    expect(withoutMarkup('<script async defer src="/a.js?cb=1">')).toBe('');
  });
});

describe('text-only elements', () => {
  it('are read whole (text and CDATA, no comments), without the walk visiting their text nodes one by one', () => {
    page(
      `<ul><li id="a">Item 1 <span>alpha<!-- not shown --> one</span> <a href="#1">link</a></li></ul><p id="b">Plain</p>`,
    );
    const visited: string[] = [];
    for (const el of document.querySelectorAll('span, a, p')) {
      const text = el.firstChild as Text;
      const data = text.data;
      Object.defineProperty(text, 'data', {
        get() {
          visited.push(data);
          return data;
        },
      });
    }
    expect(texts()).toEqual(['li#a: Item 1 alpha one link', 'p#b: Plain']);
    expect(visited).toEqual([]);
  });
});
