/**
 * How long a content script keeps working: until the extension itself is gone (reloaded, updated or removed,
 * when its id is unset), which no page can fake. The scripts look whenever they call `ended`, and once a second
 * while something waits for the end or a tick — so a frame where a script stopped early (an excluded site, an
 * error page) keeps no timer. (WXT's own context, which ended a script when a "newer copy" announced itself with
 * a DOM event any page could forge, is not used: see utils/content-context.ts.)
 */
import { extensionGone } from './page-api';

/** How often a content script looks whether the extension is still there. */
export const LIFETIME_CHECK_MS = 1000;

export interface Lifetime {
  readonly signal: AbortSignal;
  /** Runs `fn` once when the lifetime ends (and starts the checks). */
  onEnd(fn: () => void): void;
  /** Runs `fn` at every check while the lifetime lasts (one timer per script for periodic looks; starts them). */
  onTick(fn: () => void): void;
  /** Whether the extension is gone (ends the lifetime when it is). */
  readonly ended: boolean;
}

export function extensionLifetime(): Lifetime {
  const controller = new AbortController();
  const ticks: Array<() => void> = [];
  let timer: ReturnType<typeof setInterval> | undefined;
  const end = () => {
    if (controller.signal.aborted || !extensionGone()) return;
    clearInterval(timer);
    controller.abort();
  };
  const check = () => {
    end();
    if (controller.signal.aborted) return;
    for (const fn of ticks) fn();
  };
  const startChecks = () => {
    if (!controller.signal.aborted) timer ??= setInterval(check, LIFETIME_CHECK_MS);
  };
  return {
    signal: controller.signal,
    onEnd(fn) {
      if (controller.signal.aborted) fn();
      else {
        controller.signal.addEventListener('abort', fn, { once: true });
        startChecks();
      }
    },
    onTick(fn) {
      ticks.push(fn);
      startChecks();
    },
    get ended() {
      end();
      return controller.signal.aborted;
    },
  };
}
