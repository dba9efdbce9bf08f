import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { extensionLifetime, LIFETIME_CHECK_MS } from './lifetime';

describe('content script lifetime', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('lasts while the extension is there, whatever the page does', () => {
    const life = extensionLifetime();
    const ended = vi.fn();
    life.onEnd(ended);
    vi.advanceTimersByTime(LIFETIME_CHECK_MS * 5);
    expect(life.signal.aborted).toBe(false);
    expect(life.ended).toBe(false);
    expect(ended).not.toHaveBeenCalled();
  });

  it('ends within one check once the extension is gone (reloaded, updated or removed), and stops ticking', () => {
    const life = extensionLifetime();
    const ended = vi.fn();
    const tick = vi.fn();
    life.onEnd(ended);
    life.onTick(tick);
    vi.advanceTimersByTime(LIFETIME_CHECK_MS);
    expect(tick).toHaveBeenCalledTimes(1);
    vi.spyOn(fakeBrowser.runtime, 'id', 'get').mockReturnValue(undefined as never);
    vi.advanceTimersByTime(LIFETIME_CHECK_MS);
    expect(life.signal.aborted).toBe(true);
    expect(ended).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(LIFETIME_CHECK_MS * 3);
    expect(tick).toHaveBeenCalledTimes(1);
    const late = vi.fn();
    life.onEnd(late);
    expect(late).toHaveBeenCalledTimes(1);
  });

  it('keeps no timer until something waits for its end or a tick', () => {
    const life = extensionLifetime();
    expect(life.ended).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    life.onEnd(() => {});
    life.onTick(() => {});
    expect(vi.getTimerCount()).toBe(1);
  });

  it('`ended` looks at once, between checks', () => {
    const life = extensionLifetime();
    vi.spyOn(fakeBrowser.runtime, 'id', 'get').mockReturnValue(undefined as never);
    expect(life.ended).toBe(true);
  });
});
