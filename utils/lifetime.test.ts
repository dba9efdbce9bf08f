import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { extensionLifetime } from './lifetime';

function fakeContext() {
  const listeners: Array<() => void> = [];
  return {
    onInvalidated: (fn: () => void) => {
      listeners.push(fn);
      return () => {};
    },
    invalidate: () => {
      for (const fn of listeners) fn();
    },
  };
}

describe('content script lifetime', () => {
  afterEach(() => vi.restoreAllMocks());

  it('outlives a forged "newer script" invalidation while the extension is still there', () => {
    const ctx = fakeContext();
    const life = extensionLifetime(ctx);
    const ended = vi.fn();
    life.onEnd(ended);
    ctx.invalidate(); // what a page's forged event does to WXT's context
    expect(life.signal.aborted).toBe(false);
    expect(life.ended).toBe(false);
    expect(ended).not.toHaveBeenCalled();
  });

  it('ends when the extension is gone (reloaded, updated or removed)', () => {
    const ctx = fakeContext();
    const life = extensionLifetime(ctx);
    const ended = vi.fn();
    life.onEnd(ended);
    vi.spyOn(fakeBrowser.runtime, 'id', 'get').mockReturnValue(undefined as never);
    ctx.invalidate();
    expect(life.signal.aborted).toBe(true);
    expect(ended).toHaveBeenCalledTimes(1);
    const late = vi.fn();
    life.onEnd(late);
    expect(late).toHaveBeenCalledTimes(1);
  });
});
