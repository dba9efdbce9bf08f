import { describe, expect, it } from 'vitest';
import { CircuitBreaker, isBreakerSnapshot } from './breaker';

describe('CircuitBreaker', () => {
  it('opens after N consecutive failures, then lets one probe through', () => {
    const b = new CircuitBreaker({ failureThreshold: 3, baseBackoffMs: 1000 });
    expect(b.tryAcquire(0)).toBe(true);
    b.onFailure(0, 'server: 503');
    b.onFailure(0, 'server: 503');
    expect(b.state(0)).toBe('closed');
    b.onFailure(10, 'server: 502');
    expect(b.state(10)).toBe('open');
    expect(b.openUntil).toBe(1010);
    expect(b.reason).toBe('server: 502');
    expect(b.tryAcquire(500)).toBe(false);

    expect(b.state(1010)).toBe('half-open');
    expect(b.tryAcquire(1010)).toBe(true);
    expect(b.tryAcquire(1010)).toBe(false); // only one probe
    b.onSuccess();
    expect(b.state(1010)).toBe('closed');
    expect(b.failures).toBe(0);
    expect(b.tryAcquire(1010)).toBe(true);
  });

  it('grows the backoff each time a probe fails, up to the maximum', () => {
    const b = new CircuitBreaker({ failureThreshold: 1, baseBackoffMs: 1000, maxBackoffMs: 5000, factor: 2 });
    let now = 0;
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      expect(b.tryAcquire(now)).toBe(true);
      b.onFailure(now, 'unreachable');
      waits.push(b.openUntil! - now);
      now = b.openUntil!;
    }
    expect(waits).toEqual([1000, 2000, 4000, 5000, 5000]);
  });

  it('does not count failures of requests that were in flight while open', () => {
    const b = new CircuitBreaker({ failureThreshold: 2, baseBackoffMs: 1000 });
    b.onFailure(0, 'a');
    b.onFailure(0, 'b');
    const until = b.openUntil;
    b.onFailure(100, 'late');
    expect(b.openUntil).toBe(until);
    expect(b.reason).toBe('b');
  });

  it('frees the probe slot on release without changing state', () => {
    const b = new CircuitBreaker({ failureThreshold: 1, baseBackoffMs: 1000 });
    b.onFailure(0, 'x');
    expect(b.tryAcquire(1000)).toBe(true);
    b.release();
    expect(b.state(1000)).toBe('half-open');
    expect(b.tryAcquire(1000)).toBe(true);
  });

  it('round-trips through a JSON snapshot', () => {
    const b = new CircuitBreaker({ failureThreshold: 1, baseBackoffMs: 1000 });
    b.onFailure(5, 'auth: 401');
    const snap = JSON.parse(JSON.stringify(b.snapshot()));
    expect(isBreakerSnapshot(snap)).toBe(true);
    const c = new CircuitBreaker({ failureThreshold: 1, baseBackoffMs: 1000 }, snap);
    expect(c.state(6)).toBe('open');
    expect(c.reason).toBe('auth: 401');
    expect(c.openUntil).toBe(1005);
    expect(isBreakerSnapshot({ failures: 'x' })).toBe(false);
  });

  it('rejects nonsensical options', () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0 })).toThrow(RangeError);
  });
});
