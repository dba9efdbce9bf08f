// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ImageReport, ImageResult } from '@/utils/messages';
import {
  altOf,
  backgroundUrl,
  captionOf,
  isBigEnough,
  isDecorative,
  MediaWatcher,
  mediaSource,
  readAsDataUrl,
} from './media';

/** Gives an image the state a browser would after loading it. */
function loaded(img: HTMLImageElement, width: number, height: number, src = img.src): HTMLImageElement {
  Object.defineProperty(img, 'complete', { configurable: true, get: () => true });
  Object.defineProperty(img, 'naturalWidth', { configurable: true, get: () => width });
  Object.defineProperty(img, 'naturalHeight', { configurable: true, get: () => height });
  Object.defineProperty(img, 'currentSrc', { configurable: true, get: () => src });
  return img;
}

function loading(img: HTMLImageElement): HTMLImageElement {
  Object.defineProperty(img, 'complete', { configurable: true, get: () => false });
  return img;
}

/** An IntersectionObserver the test drives. */
class FakeObserver {
  static all: FakeObserver[] = [];
  readonly targets = new Set<Element>();
  constructor(readonly callback: IntersectionObserverCallback) {
    FakeObserver.all.push(this);
  }
  observe(el: Element) {
    this.targets.add(el);
  }
  unobserve(el: Element) {
    this.targets.delete(el);
  }
  disconnect() {
    this.targets.clear();
  }
  takeRecords() {
    return [];
  }
  /** Reports `el` with a rendered size, in view or not. */
  report(el: Element, width: number, height: number, inView: boolean) {
    const rect = { width, height, top: 0, left: 0, right: width, bottom: height, x: 0, y: 0 };
    this.callback(
      [
        {
          target: el,
          isIntersecting: inView,
          boundingClientRect: rect,
        } as unknown as IntersectionObserverEntry,
      ],
      this as unknown as IntersectionObserver,
    );
  }
}

describe('what an image is', () => {
  it('reads the first url() of a background image', () => {
    expect(backgroundUrl('url("https://a.example/x.png")')).toBe('https://a.example/x.png');
    expect(backgroundUrl("url('b.jpg'), linear-gradient(red, blue)")).toBe('b.jpg');
    expect(backgroundUrl('linear-gradient(red, blue), url(c.webp)')).toBe('c.webp');
    expect(backgroundUrl('url("a\\"b.png")')).toBe('a"b.png');
    expect(backgroundUrl('none')).toBeNull();
    expect(backgroundUrl('linear-gradient(red, blue)')).toBeNull();
    expect(backgroundUrl('')).toBeNull();
  });

  it('uses the current source of a loaded image, waits for one still loading, skips a broken one', () => {
    document.body.innerHTML = '<img id="a" src="https://a.example/small.jpg"><img id="b"><img id="c">';
    const [a, b, c] = [...document.querySelectorAll('img')];
    loaded(a!, 800, 600, 'https://a.example/large.jpg');
    expect(mediaSource(a!)).toEqual({
      kind: 'img',
      src: 'https://a.example/large.jpg',
      natural: { width: 800, height: 600 },
    });
    expect(mediaSource(loading(b!))).toBe('loading');
    expect(mediaSource(loaded(c!, 0, 0, ''))).toBeNull();
  });

  it('uses a video poster and a background image', () => {
    document.body.innerHTML =
      '<video id="v" poster="https://a.example/poster.jpg"></video><div id="d" style="background-image: url(/bg.png)"></div>';
    expect(mediaSource(document.getElementById('v')!)).toEqual({
      kind: 'poster',
      src: 'https://a.example/poster.jpg',
    });
    expect(mediaSource(document.getElementById('d')!)).toMatchObject({ kind: 'background' });
    expect((mediaSource(document.getElementById('d')!) as { src: string }).src).toMatch(/^http.*\/bg\.png$/);
  });

  it('skips decorative and tiny images', () => {
    document.body.innerHTML =
      '<img id="a" alt="" src="x"><img id="b" aria-hidden="true" src="x"><img id="c" role="presentation" src="x"><img id="d" alt="A dog" src="x">';
    const el = (id: string) => document.getElementById(id)!;
    expect(isDecorative(el('a'), { width: 100, height: 100 })).toBe(true);
    expect(isDecorative(el('a'), { width: 400, height: 300 })).toBe(false);
    expect(isDecorative(el('b'), { width: 400, height: 300 })).toBe(true);
    expect(isDecorative(el('c'), { width: 400, height: 300 })).toBe(true);
    expect(isDecorative(el('d'), { width: 100, height: 100 })).toBe(false);
    const img = { kind: 'img' as const, src: 'x', natural: { width: 400, height: 400 } };
    expect(isBigEnough(img, { width: 200, height: 150 })).toBe(true);
    expect(isBigEnough(img, { width: 40, height: 150 })).toBe(false);
    expect(isBigEnough({ ...img, natural: { width: 16, height: 16 } }, { width: 200, height: 200 })).toBe(
      false,
    );
    const bg = { kind: 'background' as const, src: 'x' };
    expect(isBigEnough(bg, { width: 300, height: 200 })).toBe(true);
    expect(isBigEnough(bg, { width: 100, height: 100 })).toBe(false);
  });

  it('takes the alt text and the figure caption along', () => {
    document.body.innerHTML =
      '<figure><img id="i" alt="  A harbour \n at dusk " src="x"><figcaption>Photo: <b>the quay</b></figcaption></figure><img id="t" title="Title only" src="x">';
    expect(altOf(document.getElementById('i')!)).toBe('A harbour at dusk');
    expect(captionOf(document.getElementById('i')!)).toBe('Photo: the quay');
    expect(altOf(document.getElementById('t')!)).toBe('Title only');
    expect(captionOf(document.getElementById('t')!)).toBe('');
  });

  it('reads blob: images as data: URLs', async () => {
    const blob = new Blob([new Uint8Array([1, 2, 3])], { type: 'image/png' });
    const fetchSpy = vi.spyOn(globalThis, 'fetch').mockResolvedValue(new Response(blob));
    try {
      expect(await readAsDataUrl('blob:https://a.example/1')).toBe('data:image/png;base64,AQID');
    } finally {
      fetchSpy.mockRestore();
    }
  });
});

describe('MediaWatcher', () => {
  const original = globalThis.IntersectionObserver;
  let reports: ImageReport[];
  let results: Array<[Element, ImageResult]>;
  let answer: (r: ImageReport) => Promise<ImageResult>;

  beforeEach(() => {
    FakeObserver.all = [];
    globalThis.IntersectionObserver = FakeObserver as unknown as typeof IntersectionObserver;
    reports = [];
    results = [];
    answer = async () => ({ status: 'safe' });
  });

  afterEach(() => {
    globalThis.IntersectionObserver = original;
    document.body.innerHTML = '';
  });

  function watcher(hideUntilChecked = false, failMode: 'open' | 'closed' = 'open') {
    return new MediaWatcher({
      hideUntilChecked,
      failMode,
      check: (r) => {
        reports.push(r);
        return answer(r);
      },
      refOf: (el) => `r-${el.id}`,
      contextOf: () => 'Text around the picture.',
      onResult: (el, result) => results.push([el, result]),
    });
  }

  it('checks an image once it is near the viewport and loaded, with its alt text and context', async () => {
    document.body.innerHTML =
      '<figure><img id="lazy" alt="A lazy picture" src="https://a.example/l.jpg"><figcaption>Caption</figcaption></figure>';
    const img = loading(document.getElementById('lazy') as HTMLImageElement);
    const w = watcher();
    w.consider(img);
    const io = FakeObserver.all[0]!;
    io.report(img, 320, 200, false);
    io.report(img, 320, 200, true);
    expect(reports).toHaveLength(0); // not loaded yet
    loaded(img, 640, 400);
    img.dispatchEvent(new Event('load'));
    await vi.waitFor(() => expect(reports).toHaveLength(1));
    expect(reports[0]).toEqual({
      ref: 'r-lazy',
      src: 'https://a.example/l.jpg',
      alt: 'A lazy picture',
      context: 'Caption — Text around the picture.',
      visible: true,
    });
    // The same source is not checked twice.
    io.report(img, 320, 200, true);
    await new Promise((r) => setTimeout(r, 20));
    expect(reports).toHaveLength(1);
    w.stop();
  });

  it('does not check tiny or decorative images, and does not check images far from view', async () => {
    document.body.innerHTML =
      '<img id="tiny" src="https://a.example/t.png"><img id="deco" alt="" src="https://a.example/d.png"><img id="far" alt="far" src="https://a.example/f.png">';
    const [tiny, deco, far] = [...document.querySelectorAll('img')].map((i) => loaded(i, 300, 300));
    const w = watcher();
    for (const el of [tiny!, deco!, far!]) w.consider(el);
    const io = FakeObserver.all[0]!;
    io.report(tiny!, 10, 10, true);
    io.report(deco!, 120, 80, true);
    io.report(far!, 300, 200, false);
    await new Promise((r) => setTimeout(r, 20));
    expect(reports).toEqual([]);
    w.stop();
  });

  it('with images hidden until checked: marks images done once checked or skipped', async () => {
    document.body.innerHTML =
      '<img id="a" alt="a" src="https://a.example/a.png"><img id="t" src="https://a.example/t.png">';
    const [a, t] = [...document.querySelectorAll('img')].map((i) => loaded(i, 300, 300));
    const w = watcher(true);
    w.consider(a!);
    w.consider(t!);
    expect(a!.getAttribute('data-guardlens-img')).toBe('pending');
    const io = FakeObserver.all[0]!;
    io.report(t!, 8, 8, true);
    expect(t!.getAttribute('data-guardlens-img')).toBe('done');
    io.report(a!, 300, 200, true);
    await vi.waitFor(() => expect(a!.getAttribute('data-guardlens-img')).toBe('done'));
    w.stop();
  });

  it('fail mode closed: an image that could not be checked is covered, not shown', async () => {
    document.body.innerHTML = '<img id="a" alt="a" src="https://a.example/a.png">';
    const a = loaded(document.querySelector('img')!, 300, 300);
    answer = async () => ({ status: 'error', reason: 'The endpoint is failing.' });
    const w = watcher(true, 'closed');
    w.consider(a);
    FakeObserver.all[0]!.report(a, 300, 200, true);
    await vi.waitFor(() => expect(a.getAttribute('data-guardlens')).toBe('unchecked'));
    expect(results.map(([, r]) => r.status)).toEqual(['error']);
    w.stop();
  });

  it('fail mode open: an image that could not be checked is shown', async () => {
    document.body.innerHTML = '<img id="a" alt="a" src="https://a.example/a.png">';
    const a = loaded(document.querySelector('img')!, 300, 300);
    answer = async () => ({ status: 'error', reason: 'The endpoint is failing.' });
    const w = watcher(true, 'open');
    w.consider(a);
    FakeObserver.all[0]!.report(a, 300, 200, true);
    await vi.waitFor(() => expect(a.getAttribute('data-guardlens-img')).toBe('done'));
    expect(a.hasAttribute('data-guardlens')).toBe(false);
    w.stop();
  });

  it('passes a flagged result on, and checks again when the source changes', async () => {
    document.body.innerHTML = '<img id="a" alt="a" src="https://a.example/a.png">';
    const a = loaded(document.querySelector('img')!, 300, 300);
    answer = async (r) =>
      r.src.endsWith('a.png')
        ? {
            status: 'flagged',
            verdict: { ref: r.ref, categories: ['S1'], names: ['Violent Crimes'], action: 'blur' },
          }
        : { status: 'safe' };
    const w = watcher();
    w.consider(a);
    FakeObserver.all[0]!.report(a, 300, 200, true);
    await vi.waitFor(() => expect(results).toHaveLength(1));
    expect(results[0]![1].status).toBe('flagged');
    loaded(a, 300, 300, 'https://a.example/b.png');
    w.consider(a);
    await vi.waitFor(() => expect(reports).toHaveLength(2));
    expect(reports[1]!.src).toBe('https://a.example/b.png');
    w.stop();
  });

  it('reads blob: images itself and sends data: URLs', async () => {
    document.body.innerHTML = '<img id="a" alt="a" src="blob:https://a.example/42">';
    const a = loaded(document.querySelector('img')!, 300, 300);
    const fetchSpy = vi
      .spyOn(globalThis, 'fetch')
      .mockResolvedValue(new Response(new Blob([new Uint8Array([7])], { type: 'image/png' })));
    try {
      const w = watcher();
      w.consider(a);
      FakeObserver.all[0]!.report(a, 300, 200, true);
      await vi.waitFor(() => expect(reports).toHaveLength(1));
      expect(reports[0]!.src).toBe('data:image/png;base64,Bw==');
      w.stop();
    } finally {
      fetchSpy.mockRestore();
    }
  });
});
