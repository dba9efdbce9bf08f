// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { REVEALED_ATTRIBUTE } from './enforce';
import { OWN_UI_ATTRIBUTE } from './extract';
import { HIGHLIGHT_TAG, Highlight, renderedTarget, reveal } from './reveal';

/** happy-dom lays nothing out: give elements a box (or none) by hand. */
function box(element: Element, rendered: boolean, top = 500): void {
  const rect = { top, left: 10, width: 300, height: 40, bottom: top + 40, right: 310, x: 10, y: top };
  element.getClientRects = () => (rendered ? [rect] : []) as unknown as DOMRectList;
  element.getBoundingClientRect = () => (rendered ? rect : { ...rect, width: 0, height: 0 }) as DOMRect;
}

let scrolled: { element: Element; options: ScrollIntoViewOptions | undefined }[];

beforeEach(() => {
  scrolled = [];
  document.body.innerHTML = `
    <section id="box"><p id="hidden">GLTEST-S2 hidden</p><p id="blurred">GLTEST-S1 blurred</p></section>`;
  for (const el of document.querySelectorAll('section, p')) {
    box(el, el.id !== 'hidden');
    (el as HTMLElement).scrollIntoView = (options?: boolean | ScrollIntoViewOptions) => {
      scrolled.push({ element: el, options: options as ScrollIntoViewOptions });
    };
  }
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  for (const e of document.querySelectorAll(HIGHLIGHT_TAG)) e.remove();
});

describe('renderedTarget', () => {
  it('is the element itself when it has a box, else its nearest ancestor with one', () => {
    expect(renderedTarget(document.getElementById('blurred')!)?.id).toBe('blurred');
    expect(renderedTarget(document.getElementById('hidden')!)?.id).toBe('box');
  });

  it('climbs out of a shadow root to its host', () => {
    const host = document.createElement('div');
    box(host, true);
    document.body.append(host);
    const inner = document.createElement('p');
    box(inner, false);
    host.attachShadow({ mode: 'open' }).append(inner);
    expect(renderedTarget(inner)).toBe(host);
  });
});

describe('reveal', () => {
  it('answers not found for an element that is unknown or gone, and shows nothing', () => {
    const highlight = new Highlight();
    expect(reveal(highlight, undefined)).toEqual({ found: false });
    const gone = document.getElementById('blurred')!;
    gone.remove();
    expect(reveal(highlight, gone)).toEqual({ found: false });
    expect(document.querySelector(HIGHLIGHT_TAG)).toBeNull();
    expect(scrolled).toEqual([]);
  });

  it('scrolls to the element and puts an overlay of its own over it, then removes it', () => {
    vi.useFakeTimers();
    const highlight = new Highlight(document, 2000);
    const blurred = document.getElementById('blurred')!;
    blurred.setAttribute('data-guardlens-action', 'blur');
    expect(reveal(highlight, blurred)).toEqual({ found: true });

    expect(scrolled).toHaveLength(1);
    expect(scrolled[0]!.element).toBe(blurred);
    expect(scrolled[0]!.options).toMatchObject({ block: 'center' });
    const host = document.querySelector<HTMLElement>(HIGHLIGHT_TAG)!;
    expect(host.parentElement).toBe(document.documentElement);
    expect(host.hasAttribute(OWN_UI_ATTRIBUTE)).toBe(true);
    expect(host.getAttribute('aria-hidden')).toBe('true');
    expect(host.shadowRoot, 'a closed shadow root').toBeNull();
    expect(host.style.getPropertyValue('position')).toBe('fixed');
    expect(host.style.getPropertyValue('pointer-events')).toBe('none');
    expect(host.style.getPropertyValue('top')).toBe('500px');
    expect(host.style.getPropertyValue('height')).toBe('40px');
    // The highlight does not reveal what the action blurs.
    expect(blurred.hasAttribute(REVEALED_ATTRIBUTE)).toBe(false);

    vi.advanceTimersByTime(1999);
    expect(host.isConnected).toBe(true);
    vi.advanceTimersByTime(1);
    expect(host.isConnected).toBe(false);
    expect(highlight.element).toBeNull();
  });

  it('shows one highlight at a time, and clear() takes it away (invalidation)', () => {
    const highlight = new Highlight();
    reveal(highlight, document.getElementById('blurred')!);
    reveal(highlight, document.getElementById('hidden')!);
    expect(document.querySelectorAll(HIGHLIGHT_TAG)).toHaveLength(1);
    expect(scrolled.map((s) => s.element.id)).toEqual(['blurred', 'box']);
    highlight.clear();
    expect(document.querySelector(HIGHLIGHT_TAG)).toBeNull();
  });

  it('jumps instead of scrolling smoothly when the person prefers reduced motion', () => {
    const matchMedia = vi.spyOn(window, 'matchMedia');
    matchMedia.mockImplementation(
      (query: string) => ({ matches: query.includes('reduce'), media: query }) as MediaQueryList,
    );
    reveal(new Highlight(), document.getElementById('blurred')!);
    matchMedia.mockImplementation((query: string) => ({ matches: false, media: query }) as MediaQueryList);
    reveal(new Highlight(), document.getElementById('blurred')!);
    expect(scrolled.map((s) => s.options?.behavior)).toEqual(['instant', 'smooth']);
  });
});
