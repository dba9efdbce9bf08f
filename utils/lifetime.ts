/**
 * How long a content script keeps working. WXT ends a script's context when a newer copy of the script announces
 * itself with a DOM event — an event any page can forge, since the extension id is public. A page must not be
 * able to switch Guardlens off that way (stop the prompt guard, or take the blur off what was flagged), so the
 * scripts tie their work to this lifetime instead: it ends only when the extension itself is gone (reloaded,
 * updated or removed, when `browser.runtime.id` is unset), not on the event alone.
 */
import type { ContentScriptContext } from 'wxt/utils/content-script-context';

export interface Lifetime {
  readonly signal: AbortSignal;
  /** Runs `fn` once when the lifetime ends. */
  onEnd(fn: () => void): void;
  /** Whether the extension is gone (ends the lifetime when it is). */
  readonly ended: boolean;
}

function extensionGone(): boolean {
  try {
    return browser.runtime?.id == null;
  } catch {
    return true;
  }
}

export function extensionLifetime(ctx: Pick<ContentScriptContext, 'onInvalidated'>): Lifetime {
  const controller = new AbortController();
  const end = () => {
    if (!controller.signal.aborted && extensionGone()) controller.abort();
  };
  // A real end (the new script of an updated extension announcing itself) finds the old runtime gone; a forged
  // announcement finds it still there and changes nothing.
  ctx.onInvalidated(end);
  return {
    signal: controller.signal,
    onEnd(fn) {
      if (controller.signal.aborted) fn();
      else controller.signal.addEventListener('abort', fn, { once: true });
    },
    get ended() {
      end();
      return controller.signal.aborted;
    },
  };
}
