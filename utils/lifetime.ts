/**
 * How long a content script keeps working: until the extension itself is gone (reloaded, updated or removed,
 * when its id is unset), which no page can fake. The scripts look once a second, and whenever they call
 * `ended`. (WXT's own context, which ended a script when a "newer copy" announced itself with a DOM event any page
 * could forge, is not used: see utils/content-context.ts.)
 */
import { extensionGone } from './page-api';

/** How often a content script looks whether the extension is still there. */
export const LIFETIME_CHECK_MS = 1000;

export interface Lifetime {
  readonly signal: AbortSignal;
  /** Runs `fn` once when the lifetime ends. */
  onEnd(fn: () => void): void;
  /** Runs `fn` at every check while the lifetime lasts (one timer per script for periodic looks). */
  onTick(fn: () => void): void;
  /** Whether the extension is gone (ends the lifetime when it is). */
  readonly ended: boolean;
}

export function extensionLifetime(): Lifetime {
  const controller = new AbortController();
  const ticks: Array<() => void> = [];
  const end = () => {
    if (controller.signal.aborted || !extensionGone()) return;
    clearInterval(timer);
    controller.abort();
  };
  const timer = setInterval(() => {
    end();
    if (controller.signal.aborted) return;
    for (const fn of ticks) fn();
  }, LIFETIME_CHECK_MS);
  return {
    signal: controller.signal,
    onEnd(fn) {
      if (controller.signal.aborted) fn();
      else controller.signal.addEventListener('abort', fn, { once: true });
    },
    onTick(fn) {
      ticks.push(fn);
    },
    get ended() {
      end();
      return controller.signal.aborted;
    },
  };
}
