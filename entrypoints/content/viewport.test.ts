// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ViewportWatch } from './viewport';

/** An IntersectionObserver the test drives: `frame()` reports every target observed since the last one. */
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
  frame(inView: (el: Element) => boolean, reported: (el: Element) => boolean = () => true) {
    const entries = [...this.targets]
      .filter(reported)
      .map((target) => ({ target, isIntersecting: inView(target) }) as unknown as IntersectionObserverEntry);
    if (entries.length) this.callback(entries, this as unknown as IntersectionObserver);
  }
}

const frame = (inView: (el: Element) => boolean, reported?: (el: Element) => boolean) => {
  for (const o of FakeObserver.all) o.frame(inView, reported);
};

describe('ViewportWatch', () => {
  const original = globalThis.IntersectionObserver;
  let blocks: HTMLElement[];
  const top = (el: Element) => blocks.indexOf(el as HTMLElement) < 3;

  beforeEach(() => {
    vi.useFakeTimers();
    FakeObserver.all = [];
    globalThis.IntersectionObserver = FakeObserver as unknown as typeof IntersectionObserver;
    document.body.innerHTML = Array.from({ length: 6 }, (_, i) => `<p>Block ${i}</p>`).join('');
    blocks = [...document.querySelectorAll('p')];
  });

  afterEach(() => {
    globalThis.IntersectionObserver = original;
    vi.useRealTimers();
    document.body.innerHTML = '';
  });

  it('answers at once for blocks reported while the walk went on, without waiting for another frame', async () => {
    const watch = new ViewportWatch();
    for (const b of blocks) watch.watch(b);
    frame(top);
    let answered: Set<Element> | undefined;
    void watch.inView(blocks).then((s) => {
      answered = s;
    });
    await Promise.resolve();
    expect(answered && [...answered]).toEqual(blocks.slice(0, 3));
    // Nothing is left observed once reported.
    expect(FakeObserver.all[0]!.targets.size).toBe(0);
  });

  it('waits only for the blocks found last, and counts those never reported as out of view', async () => {
    const watch = new ViewportWatch();
    for (const b of blocks.slice(0, 4)) watch.watch(b);
    frame(top);
    // Found after the last frame: the send waits for their report.
    watch.watch(blocks[4]!);
    watch.watch(blocks[5]!);
    let answered: Set<Element> | undefined;
    const pending = watch.inView(blocks, 800).then((s) => {
      answered = s;
    });
    await Promise.resolve();
    expect(answered).toBeUndefined();
    frame(
      (el) => el === blocks[4],
      (el) => el === blocks[4],
    );
    await Promise.resolve();
    expect(answered).toBeUndefined();
    // Block 5 is never reported (a hidden tab renders no frames): out of view after the wait.
    await vi.advanceTimersByTimeAsync(800);
    await pending;
    expect([...answered!]).toEqual([...blocks.slice(0, 3), blocks[4]]);
  });

  it('asks afresh for a block queued again after its report, and forgets reports once used', async () => {
    const watch = new ViewportWatch();
    const block = blocks[0]!;
    watch.watch(block);
    frame(() => true);
    // The block changed and was queued again; it has since scrolled out of view.
    watch.watch(block);
    const first = watch.inView([block]);
    frame(() => false);
    expect([...(await first)]).toEqual([]);
    // A block never watched is watched when asked about.
    const second = watch.inView([blocks[1]!]);
    frame(() => true);
    expect([...(await second)]).toEqual([blocks[1]]);
  });

  it('keeps answering a send under way across a fresh page state, and ends waits when stopped', async () => {
    const watch = new ViewportWatch();
    watch.watch(blocks[0]!);
    watch.watch(blocks[1]!);
    const before = watch.inView([blocks[0]!]);
    watch.clear();
    frame(() => true);
    expect([...(await before)]).toEqual([blocks[0]]);
    // blocks[1] was forgotten by the fresh state: not observed any more.
    expect(FakeObserver.all[0]!.targets.has(blocks[1]!)).toBe(false);
    watch.watch(blocks[2]!);
    const stopped = watch.inView([blocks[2]!]);
    watch.disconnect();
    expect([...(await stopped)]).toEqual([]);
  });

  it('says nothing is in view where there is no IntersectionObserver', async () => {
    globalThis.IntersectionObserver = undefined as unknown as typeof IntersectionObserver;
    const watch = new ViewportWatch();
    watch.watch(blocks[0]!);
    expect([...(await watch.inView(blocks))]).toEqual([]);
  });
});
