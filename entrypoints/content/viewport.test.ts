// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PASSED_AFTER, ViewportWatch } from './viewport';

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
  /** Blocks not in view lie below it unless `beside` says otherwise. */
  frame(
    inView: (el: Element) => boolean,
    reported: (el: Element) => boolean = () => true,
    beside: (el: Element) => boolean = () => false,
  ) {
    const entries = [...this.targets].filter(reported).map((target) => {
      const isIntersecting = inView(target);
      const top = isIntersecting || beside(target) ? 100 : 2000;
      return {
        target,
        isIntersecting,
        boundingClientRect: { top, bottom: top + 20 },
        rootBounds: { top: -250, bottom: 1250 },
      } as unknown as IntersectionObserverEntry;
    });
    if (entries.length) this.callback(entries, this as unknown as IntersectionObserver);
  }
}

const frame = (
  inView: (el: Element) => boolean,
  reported?: (el: Element) => boolean,
  beside?: (el: Element) => boolean,
) => {
  for (const o of FakeObserver.all) o.frame(inView, reported, beside);
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

  it('tells once that the walk has gone past the viewport: PASSED_AFTER blocks in a row reported below it', () => {
    document.body.innerHTML = Array.from({ length: 3 + PASSED_AFTER + 2 }, (_, i) => `<p>${i}</p>`).join('');
    blocks = [...document.querySelectorAll('p')];
    const watch = new ViewportWatch();
    const passed = vi.fn();
    watch.whenPassed(passed);
    // The walk found the blocks in view and one fewer than PASSED_AFTER below them.
    for (const b of blocks.slice(0, 3 + PASSED_AFTER - 1)) watch.watch(b);
    frame(top);
    expect(passed).not.toHaveBeenCalled();
    // One more below: the walk is past the viewport.
    watch.watch(blocks[3 + PASSED_AFTER - 1]!);
    frame(top);
    expect(passed).toHaveBeenCalledTimes(1);
    // Once only.
    for (const b of blocks.slice(3 + PASSED_AFTER)) watch.watch(b);
    frame(top);
    expect(passed).toHaveBeenCalledTimes(1);
  });

  it('counts only an unbroken run below the viewport: a block in view starts it again, one beside it is passed over', () => {
    const count = 2 * PASSED_AFTER + 2;
    document.body.innerHTML = Array.from({ length: count }, (_, i) => `<p>${i}</p>`).join('');
    blocks = [...document.querySelectorAll('p')];
    const watch = new ViewportWatch();
    const passed = vi.fn();
    watch.whenPassed(passed);
    // PASSED_AFTER - 1 below, then one in view (a block placed out of order), then PASSED_AFTER - 1 below again.
    const inView = (el: Element) => blocks.indexOf(el as HTMLElement) === PASSED_AFTER - 1;
    for (const b of blocks.slice(0, 2 * PASSED_AFTER - 1)) watch.watch(b);
    frame(inView);
    expect(passed).not.toHaveBeenCalled();
    // A block out of view beside the viewport (a menu moved off to the left) neither counts nor breaks the run…
    const beside = blocks[2 * PASSED_AFTER - 1]!;
    watch.watch(beside);
    frame(inView, undefined, (el) => el === beside);
    expect(passed).not.toHaveBeenCalled();
    // …and the next one below completes it.
    watch.watch(blocks[2 * PASSED_AFTER]!);
    frame(inView);
    expect(passed).toHaveBeenCalledTimes(1);
  });

  it('does not tell after a fresh page state or once stopped, and knows nothing below without the root bounds', () => {
    document.body.innerHTML = Array.from({ length: 3 * PASSED_AFTER }, (_, i) => `<p>${i}</p>`).join('');
    blocks = [...document.querySelectorAll('p')];
    const watch = new ViewportWatch();
    const passed = vi.fn();
    watch.whenPassed(passed);
    watch.clear();
    for (const b of blocks.slice(0, PASSED_AFTER)) watch.watch(b);
    frame(() => false);
    watch.whenPassed(passed);
    watch.disconnect();
    for (const b of blocks.slice(PASSED_AFTER, 2 * PASSED_AFTER)) watch.watch(b);
    frame(() => false);
    expect(passed).not.toHaveBeenCalled();
    // A frame of another origin: its observer has no root bounds.
    watch.whenPassed(passed);
    for (const b of blocks.slice(2 * PASSED_AFTER)) watch.watch(b);
    for (const o of FakeObserver.all) {
      const entries = [...o.targets].map(
        (target) =>
          ({
            target,
            isIntersecting: false,
            boundingClientRect: { top: 2000, bottom: 2020 },
            rootBounds: null,
          }) as unknown as IntersectionObserverEntry,
      );
      if (entries.length) o.callback(entries, o as unknown as IntersectionObserver);
    }
    expect(passed).not.toHaveBeenCalled();
  });

  it('says whether a block was reported in view since it was last watched', () => {
    const watch = new ViewportWatch();
    for (const b of blocks.slice(0, 4)) watch.watch(b);
    frame(top, (el) => el !== blocks[1]);
    expect(blocks.slice(0, 4).map((b) => watch.reportedInView(b))).toEqual([true, false, true, false]);
    watch.watch(blocks[0]!);
    expect(watch.reportedInView(blocks[0]!)).toBe(false);
  });

  it('says nothing is in view where there is no IntersectionObserver', async () => {
    globalThis.IntersectionObserver = undefined as unknown as typeof IntersectionObserver;
    const watch = new ViewportWatch();
    watch.watch(blocks[0]!);
    expect([...(await watch.inView(blocks))]).toEqual([]);
  });
});
