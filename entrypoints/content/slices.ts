/**
 * Time slicing and accounting for the page content script. Work runs in tasks of a few milliseconds that hand
 * the main thread back to the page in between; every task the script runs goes through `measure`, so the page
 * can be asked how much main-thread time Guardlens took (`page:stats`).
 */
import type { PageStats } from '@/utils/messages';

export const stats: PageStats = {
  tasks: 0,
  totalMs: 0,
  longestMs: 0,
  blocksSent: 0,
  imagesChecked: 0,
  flagged: 0,
  errors: 0,
  scanning: false,
  idle: true,
  longestTask: '',
};

/** Last error messages, for diagnostics (kept short). */
export const recentErrors: string[] = [];

export function noteError(err: unknown): void {
  stats.errors++;
  const message = err instanceof Error ? err.message : String(err);
  recentErrors.push(message.slice(0, 300));
  if (recentErrors.length > 10) recentErrors.shift();
}

/** Runs `fn` as one accounted task (`label` says what it was); errors are counted, never thrown into the page. */
export function measure<T>(fn: () => T, label = 'task'): T | undefined {
  const start = performance.now();
  try {
    return fn();
  } catch (err) {
    noteError(err);
    return undefined;
  } finally {
    const ms = performance.now() - start;
    stats.tasks++;
    stats.totalMs += ms;
    if (ms > stats.longestMs) {
      stats.longestMs = ms;
      stats.longestTask = label;
    }
  }
}

/**
 * Runs iterators (walks) a slice at a time: each slice stops once it has used `sliceMs` and continues in a
 * later task. `onIdle` runs (in the same task) whenever the queue empties.
 */
export class SliceRunner {
  private readonly queue: Iterator<unknown>[] = [];
  private scheduled = false;
  private readonly channel = new MessageChannel();
  private stopped = false;

  constructor(
    private readonly onIdle: () => void,
    private readonly sliceMs = 4,
    /** Told when a queued iterator threw (it is dropped): the work it had left is not done. */
    private readonly onError?: (err: unknown) => void,
  ) {
    this.channel.port1.onmessage = () => {
      this.scheduled = false;
      measure(() => this.run(), 'slice');
    };
  }

  get busy(): boolean {
    return this.queue.length > 0;
  }

  add(iterator: Iterator<unknown>): void {
    if (this.stopped) return;
    this.queue.push(iterator);
    this.schedule();
  }

  /** Asks for a slice soon (also used to run `onIdle` after work was queued elsewhere). */
  schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    stats.idle = false;
    this.channel.port2.postMessage(0);
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.channel.port1.onmessage = null;
    this.channel.port1.close();
    this.channel.port2.close();
  }

  private run(): void {
    const end = performance.now() + this.sliceMs;
    while (this.queue.length > 0) {
      const current = this.queue[0]!;
      let done = false;
      try {
        done = !!current.next().done;
      } catch (err) {
        noteError(err);
        done = true;
        try {
          this.onError?.(err);
        } catch (inner) {
          noteError(inner);
        }
      }
      if (done) this.queue.shift();
      if (performance.now() >= end) break;
    }
    if (this.queue.length > 0) {
      this.schedule();
      return;
    }
    this.onIdle();
    stats.idle = !this.scheduled;
  }
}

/**
 * Calls `fn` once more after `delayMs` when it throws: a message to the background fails when its service worker
 * stops in the middle of an answer; the next one starts it again.
 */
export async function retryOnce<T>(fn: () => Promise<T>, delayMs = 1000): Promise<T> {
  try {
    return await fn();
  } catch {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return fn();
  }
}
