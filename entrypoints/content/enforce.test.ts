// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import {
  applyVerdict,
  clearMarks,
  ensureStyle,
  isRevealed,
  markUnchecked,
  removeStyles,
  STYLE_ATTRIBUTE,
  setHideImages,
  setRevealed,
} from './enforce';
import { OWN_UI_ATTRIBUTE } from './extract';
import { LabelLayer } from './labels';

afterEach(() => {
  removeStyles();
  setHideImages(false);
  document.body.innerHTML = '';
  for (const el of document.querySelectorAll('guardlens-ui')) el.remove();
});

const attrs = (el: Element) =>
  Object.fromEntries(
    [...el.attributes].filter((a) => a.name.startsWith('data-guardlens')).map((a) => [a.name, a.value]),
  );

describe('verdicts on elements', () => {
  it('marks a flagged element with data attributes and one stylesheet, never inline styles', () => {
    document.body.innerHTML = '<p id="p" style="color: red">text</p>';
    const p = document.getElementById('p')!;
    expect(applyVerdict(p, { categories: ['S1', 'S10'], action: 'blur' })).toBe(true);
    expect(attrs(p)).toEqual({
      'data-guardlens': 'flagged',
      'data-guardlens-categories': 'S1 S10',
      'data-guardlens-action': 'blur',
    });
    expect(p.getAttribute('style')).toBe('color: red');
    expect(document.querySelectorAll(`style[${STYLE_ATTRIBUTE}]`)).toHaveLength(1);
    applyVerdict(p, { categories: ['S1'], action: 'blur' });
    expect(document.querySelectorAll(`style[${STYLE_ATTRIBUTE}]`)).toHaveLength(1);
  });

  it('merges categories of several verdicts and keeps the strongest action', () => {
    document.body.innerHTML = '<p id="p">text</p>';
    const p = document.getElementById('p')!;
    applyVerdict(p, { categories: ['S10'], action: 'label' });
    applyVerdict(p, { categories: ['S1', 'S10'], action: 'hide' });
    applyVerdict(p, { categories: ['S2'], action: 'blur' });
    expect(attrs(p)).toMatchObject({
      'data-guardlens-categories': 'S10 S1 S2',
      'data-guardlens-action': 'hide',
    });
  });

  it('leaves an element alone when the action is ignore', () => {
    document.body.innerHTML = '<p id="p">text</p>';
    const p = document.getElementById('p')!;
    expect(applyVerdict(p, { categories: ['S1'], action: 'ignore' })).toBe(false);
    expect(attrs(p)).toEqual({});
  });

  it('blur and hide come from the stylesheet: the rules match by attribute', () => {
    ensureStyle(document);
    const css = document.querySelector(`style[${STYLE_ATTRIBUTE}]`)!.textContent!;
    expect(css).toContain(
      '[data-guardlens="flagged"][data-guardlens-action="blur"]:not([data-guardlens-revealed])',
    );
    expect(css).toMatch(/\[data-guardlens-action="hide"\] \{ display: none !important; \}/);
    expect(css).not.toContain('img:not');
    setHideImages(true);
    expect(document.querySelector(`style[${STYLE_ATTRIBUTE}]`)!.textContent).toContain(
      'img:not([data-guardlens-img="done"])',
    );
  });

  it('puts the stylesheet into the shadow root of a flagged element inside one', () => {
    document.body.innerHTML = '<div id="host"></div>';
    const shadow = document.getElementById('host')!.attachShadow({ mode: 'open' });
    shadow.innerHTML = '<p>inside</p>';
    applyVerdict(shadow.querySelector('p')!, { categories: ['S1'], action: 'blur' });
    expect(shadow.querySelectorAll(`style[${STYLE_ATTRIBUTE}]`)).toHaveLength(1);
  });

  it('reveals, covers unchecked images, and clears every mark', () => {
    document.body.innerHTML = '<p id="p">text</p><img id="i">';
    const p = document.getElementById('p')!;
    applyVerdict(p, { categories: ['S1'], action: 'blur' });
    setRevealed(p, true);
    expect(isRevealed(p)).toBe(true);
    setRevealed(p, false);
    expect(isRevealed(p)).toBe(false);
    const img = document.getElementById('i')!;
    markUnchecked(img);
    expect(img.getAttribute('data-guardlens')).toBe('unchecked');
    markUnchecked(p);
    expect(p.getAttribute('data-guardlens')).toBe('flagged');
    clearMarks(p);
    expect(attrs(p)).toEqual({});
  });
});

describe('labels', () => {
  it('shows a label in a shadow root outside the body, saying why, with a Show button that toggles', () => {
    document.body.innerHTML = '<p id="p">text</p>';
    const p = document.getElementById('p')!;
    applyVerdict(p, { categories: ['S1', 'S10'], action: 'blur' });
    const layer = new LabelLayer();
    layer.show(p, 'blur', ['Violent Crimes', 'Hate']);
    const host = document.querySelector('guardlens-ui')!;
    expect(host.parentElement).toBe(document.documentElement);
    expect(host.hasAttribute(OWN_UI_ATTRIBUTE)).toBe(true);
    expect(document.body.querySelector('guardlens-ui')).toBeNull();
    const label = layer.labelOf(p)!;
    expect(label.getRootNode()).toBe(host.shadowRoot);
    expect(label.textContent).toContain('Violent Crimes, Hate');
    const button = label.querySelector('button')!;
    expect(button.getAttribute('aria-pressed')).toBe('false');
    button.click();
    expect(isRevealed(p)).toBe(true);
    expect(button.getAttribute('aria-pressed')).toBe('true');
    button.click();
    expect(isRevealed(p)).toBe(false);
    layer.dispose();
    expect(document.querySelector('guardlens-ui')).toBeNull();
  });

  it('a click on the label does not reach the page', () => {
    document.body.innerHTML = '<p id="p">text</p>';
    const p = document.getElementById('p')!;
    let pageClicks = 0;
    document.addEventListener('click', () => pageClicks++);
    const layer = new LabelLayer();
    layer.show(p, 'blur', ['Hate']);
    layer.labelOf(p)!.querySelector('button')!.click();
    expect(pageClicks).toBe(0);
    layer.dispose();
  });

  it('a label-only verdict has no button; removing a label drops it', () => {
    document.body.innerHTML = '<p id="p">text</p>';
    const p = document.getElementById('p')!;
    const layer = new LabelLayer();
    layer.show(p, 'label', ['Hate']);
    expect(layer.labelOf(p)!.querySelector('button')).toBeNull();
    layer.remove(p);
    expect(layer.labelOf(p)).toBeUndefined();
    expect(layer.size).toBe(0);
    layer.dispose();
  });

  it('shows a toast with a close button', () => {
    const layer = new LabelLayer();
    const toast = layer.toast('Guardlens: nothing was flagged.');
    expect(toast.textContent).toContain('nothing was flagged');
    toast.querySelector('button')!.click();
    expect(toast.isConnected).toBe(false);
    layer.dispose();
  });
});
