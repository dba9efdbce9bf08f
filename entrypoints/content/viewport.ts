/**
 * Which blocks are in or near the viewport, from an IntersectionObserver (the browser computes it with the next
 * frame, without forcing a layout). A block is watched as soon as the walk queues it, so by the time the walk
 * ends the frames it spanned have mostly answered, and sending waits only for the blocks found last. A hidden
 * tab may not render for a while: blocks not reported within the wait count as out of view.
 *
 * The same reports tell when a walk in document order has gone past what is in view (`whenPassed`): the blocks
 * in view can then be sent before the walk reaches the end of a long page.
 */
import { measure } from './slices';

/**
 * Blocks reported below the viewport one after another (in the order they were watched, none in view in between)
 * after which the walk counts as past it. One is not enough: a dropdown or a block placed out of its order may
 * lie below while what follows it is in view.
 */
export const PASSED_AFTER = 5;

export class ViewportWatch {
  private observer: IntersectionObserver | null = null;
  /** First report since the block was last watched: in view or not. */
  private readonly reported = new Map<Element, boolean>();
  /** Watched, not reported yet. */
  private readonly watching = new Set<Element>();
  /** Sends waiting for the reports of some blocks. */
  private readonly waiters = new Set<Waiter>();
  /** Told once when the walk has gone past the viewport (`whenPassed`), and the run of reports below it so far. */
  private onPassed: (() => void) | null = null;
  private below = 0;

  /** Asks for a fresh report on the block (an earlier one is forgotten: the block may have moved since). */
  watch(element: Element): void {
    if (typeof IntersectionObserver !== 'function') return;
    this.observer ??= new IntersectionObserver((entries) => measure(() => this.onEntries(entries)), {
      rootMargin: '25% 0px',
    });
    this.reported.delete(element);
    this.watching.add(element);
    // Observing again an element already observed changes nothing: unobserve first, so it reports afresh.
    this.observer.unobserve(element);
    this.observer.observe(element);
  }

  /**
   * Which of `elements` are in view, by their reports since they were last watched (an element never watched is
   * watched now); those reports are used up. Elements not reported within `timeoutMs` count as out of view.
   */
  inView(elements: readonly Element[], timeoutMs = 800): Promise<Set<Element>> {
    if (elements.length === 0 || typeof IntersectionObserver !== 'function')
      return Promise.resolve(new Set());
    const waiter: Waiter = { pending: new Set(), inView: new Set(), done: () => {} };
    for (const element of elements) {
      const reported = this.reported.get(element);
      if (reported !== undefined) {
        this.reported.delete(element);
        if (reported) waiter.inView.add(element);
        continue;
      }
      waiter.pending.add(element);
      if (!this.watching.has(element)) this.watch(element);
    }
    if (waiter.pending.size === 0) return Promise.resolve(waiter.inView);
    return new Promise((resolve) => {
      const timer = setTimeout(() => waiter.done(), timeoutMs);
      waiter.done = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        for (const element of waiter.pending) {
          this.observer?.unobserve(element);
          this.watching.delete(element);
        }
        resolve(waiter.inView);
      };
      this.waiters.add(waiter);
    });
  }

  /** The block was reported in view since it was last watched (`inView` would count it without waiting). */
  reportedInView(element: Element): boolean {
    return this.reported.get(element) === true;
  }

  /**
   * Calls `onPassed` once, as soon as `PASSED_AFTER` blocks in a row are reported below the viewport (blocks not in
   * view but beside or above it neither count nor break the run; one in view starts it again). A later call, or
   * `clear()`, replaces or drops a call not made yet.
   */
  whenPassed(onPassed: () => void): void {
    this.onPassed = onPassed;
    this.below = 0;
  }

  /** Forgets every report and stops watching what no send waits for (a fresh page state). */
  clear(): void {
    this.onPassed = null;
    const awaited = (element: Element) => [...this.waiters].some((w) => w.pending.has(element));
    for (const element of this.watching) {
      if (awaited(element)) continue;
      this.observer?.unobserve(element);
      this.watching.delete(element);
    }
    this.reported.clear();
  }

  /** Stops watching everything; sends still waiting get what was reported. */
  disconnect(): void {
    this.onPassed = null;
    this.observer?.disconnect();
    this.observer = null;
    for (const waiter of [...this.waiters]) waiter.done();
    this.reported.clear();
    this.watching.clear();
  }

  private onEntries(entries: IntersectionObserverEntry[]): void {
    for (const entry of entries) {
      const element = entry.target;
      if (!this.watching.delete(element)) continue;
      this.observer?.unobserve(element);
      let taken = false;
      for (const waiter of [...this.waiters]) {
        if (!waiter.pending.delete(element)) continue;
        taken = true;
        if (entry.isIntersecting) waiter.inView.add(element);
        if (waiter.pending.size === 0) waiter.done();
      }
      if (!taken) this.reported.set(element, entry.isIntersecting);
      if (this.onPassed) this.countBelow(entry);
    }
    const onPassed = this.onPassed;
    if (onPassed && this.below >= PASSED_AFTER) {
      this.onPassed = null;
      onPassed();
    }
  }

  private countBelow(entry: IntersectionObserverEntry): void {
    if (entry.isIntersecting) {
      this.below = 0;
      return;
    }
    // Without the root's bounds (a frame of another origin) nothing is known to be below.
    const root = entry.rootBounds;
    if (root && entry.boundingClientRect.top >= root.bottom) this.below++;
  }
}

interface Waiter {
  pending: Set<Element>;
  inView: Set<Element>;
  done: () => void;
}
