import { describe, expect, it } from 'vitest';
import { cleanText, isBlankText, type NodeLike, readNodeText } from './text';

/** A tiny DOM-shaped tree builder: el('p', {class: 'x'}, 'text', el('br')). */
function el(
  name: string,
  attrs: Record<string, string> | null = null,
  ...children: Array<NodeLike | string>
): NodeLike {
  return {
    nodeType: 1,
    nodeName: name.toUpperCase(),
    nodeValue: null,
    childNodes: children.map((c) =>
      typeof c === 'string' ? { nodeType: 3, nodeName: '#text', nodeValue: c, childNodes: [] } : c,
    ),
    getAttribute: (n: string) => attrs?.[n] ?? null,
  };
}

describe('readNodeText', () => {
  it('reads ProseMirror-like editors as one line per paragraph, without doubled newlines', () => {
    const editor = el(
      'div',
      { contenteditable: 'true' },
      el('p', null, 'first line'),
      el('p', null, el('br', { class: 'ProseMirror-trailingBreak' })),
      el(
        'p',
        null,
        'third ',
        el('strong', null, 'bold'),
        ' line',
        el('br', { class: 'ProseMirror-trailingBreak' }),
      ),
    );
    expect(readNodeText(editor)).toBe('first line\n\nthird bold line');
  });

  it('reads an empty editor (placeholder paragraph) as empty', () => {
    const chatgpt = el(
      'div',
      null,
      el(
        'p',
        { 'data-placeholder': 'Ask anything', class: 'placeholder' },
        el('br', { class: 'ProseMirror-trailingBreak' }),
      ),
    );
    expect(readNodeText(chatgpt)).toBe('');
    expect(readNodeText(el('div', null, el('p', null, el('br'))))).toBe('');
  });

  it('keeps line breaks inside a block, Quill and Lexical style markup', () => {
    expect(readNodeText(el('div', null, el('p', null, 'a', el('br'), 'b')))).toBe('a\nb');
    expect(
      readNodeText(el('div', null, el('p', null, el('span', { 'data-lexical-text': 'true' }, 'hi')))),
    ).toBe('hi');
    expect(readNodeText(el('div', null, 'loose text', el('p', null, 'then a block')))).toBe(
      'loose text\nthen a block',
    );
  });

  it('reads nested blocks (lists, quotes) one line each', () => {
    const list = el('div', null, el('ul', null, el('li', null, el('p', null, 'one')), el('li', null, 'two')));
    expect(readNodeText(list)).toBe('one\ntwo');
  });

  it('skips hidden and non-text elements and injected placeholders', () => {
    const editor = el(
      'div',
      null,
      el('p', null, 'visible', el('span', { 'aria-hidden': 'true' }, 'hidden')),
      el('style', null, 'p{}'),
      el('img', { alt: 'x' }),
      el('span', { class: 'editor-placeholder' }, 'Type here'),
      el('button', null, 'Remove'),
    );
    expect(readNodeText(editor)).toBe('visible');
  });
});

describe('cleanText', () => {
  it('removes zero-width characters, keeps joiners, normalises spaces and line ends, trims', () => {
    expect(cleanText('\u200Bhello\u00A0world\uFEFF\r\nnext\r ')).toBe('hello world\nnext');
    expect(cleanText('👩\u200D💻')).toBe('👩\u200D💻');
    expect(isBlankText('\u200B \n')).toBe(true);
    expect(isBlankText('x')).toBe(false);
  });
});
