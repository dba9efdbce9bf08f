// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import {
  applyVerdict,
  clearMarks,
  ensureStyle,
  isMarked,
  isRevealed,
  markUnchecked,
  REPAIR_BURST,
  REVEALED_ATTRIBUTE,
  RepairBudget,
  removeStyles,
  STYLE_ATTRIBUTE,
  setHideImages,
  setRevealed,
} from './enforce';
import { collectBlocks, isOwnUi, isReadableRoot, OWN_UI_ATTRIBUTE } from './extract';
import { LabelLayer } from './labels';

/** A click as the browser makes it for a person (happy-dom has no trusted events). */
function personClick(target: Element): void {
  const event = new MouseEvent('click', { bubbles: true, composed: true, cancelable: true });
  Object.defineProperty(event, 'isTrusted', { value: true });
  target.dispatchEvent(event);
}

/** Lets mutation observers run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

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
    personClick(button);
    expect(isRevealed(p)).toBe(true);
    expect(button.getAttribute('aria-pressed')).toBe('true');
    personClick(button);
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
    personClick(layer.labelOf(p)!.querySelector('button')!);
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
    expect(toast.isConnected).toBe(true);
    personClick(toast.querySelector('button')!);
    expect(toast.isConnected).toBe(false);
    layer.dispose();
  });
});

describe('a hostile page', () => {
  const blurred = (el: Element) => getComputedStyle(el).filter.includes('blur');

  it('cannot reveal by planting the revealed attribute: it is taken away again', async () => {
    document.body.innerHTML = '<p id="p">text</p>';
    const p = document.getElementById('p')!;
    applyVerdict(p, { categories: ['S1'], action: 'blur' });
    p.setAttribute(REVEALED_ATTRIBUTE, '');
    expect(isRevealed(p)).toBe(false);
    await settle();
    expect(p.hasAttribute(REVEALED_ATTRIBUTE)).toBe(false);
    expect(blurred(p)).toBe(true);
  });

  it('planted marks are not Guardlens state: not marked, not merged into a verdict, not revealable', () => {
    document.body.innerHTML =
      '<p id="p" data-guardlens="flagged" data-guardlens-categories="S99" data-guardlens-action="hide">x</p>';
    const p = document.getElementById('p')!;
    expect(isMarked(p)).toBe(false);
    setRevealed(p, true);
    expect(p.hasAttribute(REVEALED_ATTRIBUTE)).toBe(false);
    applyVerdict(p, { categories: ['S1'], action: 'blur' });
    expect(attrs(p)).toEqual({
      'data-guardlens': 'flagged',
      'data-guardlens-categories': 'S1',
      'data-guardlens-action': 'blur',
    });
  });

  it('gets removed or rewritten marks put back', async () => {
    document.body.innerHTML = '<p id="p">text</p><p id="h">hidden</p>';
    const p = document.getElementById('p')!;
    const h = document.getElementById('h')!;
    applyVerdict(p, { categories: ['S1'], action: 'blur' });
    applyVerdict(h, { categories: ['S2'], action: 'hide' });
    for (const name of ['data-guardlens', 'data-guardlens-categories', 'data-guardlens-action'])
      p.removeAttribute(name);
    h.setAttribute('data-guardlens-action', 'label');
    await settle();
    expect(attrs(p)).toEqual({
      'data-guardlens': 'flagged',
      'data-guardlens-categories': 'S1',
      'data-guardlens-action': 'blur',
    });
    expect(h.getAttribute('data-guardlens-action')).toBe('hide');
    expect(getComputedStyle(h).display).toBe('none');
  });

  it('gets a removed, emptied or disabled stylesheet put back, and cannot pre-empt it with its own', async () => {
    const planted = document.createElement('style');
    planted.setAttribute(STYLE_ATTRIBUTE, '');
    document.head.append(planted);
    document.body.innerHTML = '<p id="p">text</p>';
    const p = document.getElementById('p')!;
    applyVerdict(p, { categories: ['S1'], action: 'blur' });
    const own = () =>
      [...document.querySelectorAll(`style[${STYLE_ATTRIBUTE}]`)].filter((s) => s !== planted);
    expect(own()).toHaveLength(1);
    expect(blurred(p)).toBe(true);
    own()[0]!.remove();
    await settle();
    expect(own()).toHaveLength(1);
    expect(blurred(p)).toBe(true);
    own()[0]!.textContent = '';
    await settle();
    expect(own()[0]!.textContent).toContain('blur(14px)');
    own()[0]!.setAttribute('media', 'print');
    await settle();
    expect(own()[0]!.hasAttribute('media')).toBe(false);
    expect(blurred(p)).toBe(true);
    planted.remove();
  });

  it('cannot override the blur with inline styles or a stronger rule; the person can still reveal', async () => {
    document.body.innerHTML = '<p id="p" style="color: red">text</p>';
    const p = document.getElementById('p')!;
    applyVerdict(p, { categories: ['S1'], action: 'blur' });
    expect(p.getAttribute('style')).toBe('color: red');
    p.setAttribute('style', 'filter: none !important; display: block !important');
    await settle();
    expect(blurred(p)).toBe(true);
    const page = document.createElement('style');
    page.textContent = '#p { filter: none !important; }';
    p.removeAttribute('style');
    document.head.append(page);
    await settle();
    expect(blurred(p)).toBe(true);
    setRevealed(p, true);
    expect(p.style.getPropertyValue('filter')).toBe('');
    expect(blurred(p)).toBe(false);
    setRevealed(p, false);
    expect(blurred(p)).toBe(true);
    clearMarks(p);
    expect(p.style.getPropertyValue('filter')).toBe('');
    page.remove();
  });

  it('keeps an element moved into a shadow root blurred', async () => {
    document.body.innerHTML = '<p id="p">text</p><div id="host"></div>';
    const p = document.getElementById('p')!;
    applyVerdict(p, { categories: ['S1'], action: 'blur' });
    const shadow = document.getElementById('host')!.attachShadow({ mode: 'open' });
    shadow.append(p);
    await settle();
    expect(shadow.querySelector(`style[${STYLE_ATTRIBUTE}]`)).not.toBeNull();
    p.removeAttribute('data-guardlens');
    await settle();
    expect(p.getAttribute('data-guardlens')).toBe('flagged');
  });

  it('cannot make Guardlens spin: repairs stop after a burst and resume once a second', async () => {
    document.body.innerHTML = '<p id="p">text</p>';
    const p = document.getElementById('p')!;
    applyVerdict(p, { categories: ['S1'], action: 'blur' });
    let repaired = 0;
    for (let i = 0; i < REPAIR_BURST * 3; i++) {
      p.removeAttribute('data-guardlens');
      await settle();
      if (p.getAttribute('data-guardlens') === 'flagged') repaired++;
    }
    expect(repaired).toBe(REPAIR_BURST);
    expect(p.hasAttribute('data-guardlens')).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(p.getAttribute('data-guardlens')).toBe('flagged');
  });

  it('counts repairs per key in a window', () => {
    let now = 0;
    const budget = new RepairBudget(2, 1000, () => now);
    const a = {};
    expect([budget.take(a), budget.take(a), budget.take(a)]).toEqual([true, true, false]);
    expect(budget.take({})).toBe(true);
    now = 1000;
    expect(budget.take(a)).toBe(true);
  });

  it("a page's click() or dispatched events on the label do not reveal", () => {
    document.body.innerHTML = '<p id="p">text</p>';
    const p = document.getElementById('p')!;
    applyVerdict(p, { categories: ['S1'], action: 'blur' });
    const layer = new LabelLayer();
    layer.show(p, 'blur', ['Hate']);
    const button = layer.labelOf(p)!.querySelector('button')!;
    button.click();
    button.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    button.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
    p.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(isRevealed(p)).toBe(false);
    expect(button.getAttribute('aria-pressed')).toBe('false');
    personClick(button);
    expect(isRevealed(p)).toBe(true);
    layer.dispose();
  });

  it('gets a removed or restyled label host, and removed labels, put back', async () => {
    document.body.innerHTML = '<p id="p">text</p>';
    const p = document.getElementById('p')!;
    applyVerdict(p, { categories: ['S1'], action: 'blur' });
    const layer = new LabelLayer();
    layer.show(p, 'blur', ['Hate']);
    const host = document.querySelector('guardlens-ui')!;
    host.remove();
    await settle();
    expect(host.parentNode).toBe(document.documentElement);
    host.setAttribute('style', 'display: none !important');
    host.removeAttribute(OWN_UI_ATTRIBUTE);
    await settle();
    expect(host.hasAttribute('style')).toBe(false);
    expect(host.hasAttribute(OWN_UI_ATTRIBUTE)).toBe(true);
    const label = layer.labelOf(p)!;
    label.remove();
    await settle();
    expect(label.getRootNode()).toBe(host.shadowRoot);
    label.querySelector('.why')!.textContent = 'Looks fine';
    await settle();
    expect(label.textContent).toContain('Hate');
    const sheet = document.createElement('style');
    sheet.textContent = '.label { display: none !important; }';
    host.shadowRoot!.append(sheet);
    const toast = layer.toast('Guardlens: flagged.', 'flagged');
    toast.remove();
    await settle();
    expect(sheet.isConnected).toBe(false);
    expect(toast.getRootNode()).toBe(host.shadowRoot);
    layer.dispose();
    await settle();
    expect(document.querySelector('guardlens-ui')).toBeNull();
  });

  it("recognises Guardlens' own UI by identity: planted attributes and tags are still read", () => {
    document.body.innerHTML = `<p id="a" ${OWN_UI_ATTRIBUTE}>planted attribute</p>
      <guardlens-ui ${OWN_UI_ATTRIBUTE}><p id="b">planted host</p></guardlens-ui>`;
    const layer = new LabelLayer();
    layer.show(document.getElementById('a')!, 'label', ['Hate']);
    const ours = [...document.querySelectorAll('guardlens-ui')].find(
      (h) => h.parentNode === document.documentElement,
    )!;
    expect(isOwnUi(ours)).toBe(true);
    expect(isOwnUi(document.getElementById('a')!)).toBe(false);
    const texts = collectBlocks(document.body).map((b) => b.text);
    expect(texts).toContain('planted attribute');
    expect(texts).toContain('planted host');
    expect(isReadableRoot(document.getElementById('a')!)).toBe(true);
    expect(isReadableRoot(document.getElementById('b')!)).toBe(true);
    expect(
      collectBlocks(document.documentElement)
        .map((b) => b.text)
        .join(' '),
    ).not.toContain('Flagged');
    layer.dispose();
  });
});
