/**
 * Circuit breaker for one endpoint: after N consecutive failures it opens for a backoff that grows each time a
 * probe fails, then lets exactly one probe through (half-open); a success closes it.
 *
 * Public API:
 * - `BreakerOptions` — `failureThreshold` (3), `baseBackoffMs` (10 s), `maxBackoffMs` (10 min), `factor` (2).
 * - `BreakerSnapshot` — JSON state, for persistence across restarts.
 * - `CircuitBreaker(opts?, snapshot?)`:
 *   - `state(now): 'closed' | 'open' | 'half-open'`;
 *   - `tryAcquire(now): boolean` — may a request go now? In half-open, true once (the probe) until its outcome;
 *   - `onSuccess()` — closes and forgets failures;
 *   - `onFailure(now, reason, { permanent })` — counts a failure; opens at the threshold (at once for a failure
 *     that will not go away by itself, such as a refused key), reopens with a longer backoff when the probe
 *     fails. Failures of requests that were already in flight while it is open are not counted again;
 *   - `release()` — a request ended with no verdict on the endpoint's health (a rate limit, an abort): frees the
 *     probe slot without changing state;
 *   - `openUntil`, `reason`, `failures` — for status; `snapshot()`; `reset()`.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  failureThreshold?: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  factor?: number;
}

export interface BreakerSnapshot {
  failures: number;
  /** Times it opened since it last closed; sets the backoff. */
  opens: number;
  openUntil: number | null;
  reason?: string;
}

export const DEFAULT_BREAKER: Required<BreakerOptions> = {
  failureThreshold: 3,
  baseBackoffMs: 10_000,
  maxBackoffMs: 10 * 60_000,
  factor: 2,
};

export class CircuitBreaker {
  private readonly opts: Required<BreakerOptions>;
  private failuresCount = 0;
  private opens = 0;
  private until: number | null = null;
  private lastReason: string | undefined;
  private probing = false;

  constructor(opts: BreakerOptions = {}, snapshot?: BreakerSnapshot) {
    this.opts = { ...DEFAULT_BREAKER, ...opts };
    if (!(this.opts.failureThreshold >= 1) || !(this.opts.baseBackoffMs > 0) || !(this.opts.factor >= 1)) {
      throw new RangeError('Circuit breaker options out of range.');
    }
    if (snapshot) {
      this.failuresCount = snapshot.failures;
      this.opens = snapshot.opens;
      this.until = snapshot.openUntil;
      this.lastReason = snapshot.reason;
    }
  }

  get openUntil(): number | null {
    return this.until;
  }

  get reason(): string | undefined {
    return this.lastReason;
  }

  get failures(): number {
    return this.failuresCount;
  }

  state(now: number): BreakerState {
    if (this.until === null) return 'closed';
    return now < this.until ? 'open' : 'half-open';
  }

  tryAcquire(now: number): boolean {
    const state = this.state(now);
    if (state === 'closed') return true;
    if (state === 'open' || this.probing) return false;
    this.probing = true;
    return true;
  }

  onSuccess(): void {
    this.failuresCount = 0;
    this.opens = 0;
    this.until = null;
    this.lastReason = undefined;
    this.probing = false;
  }

  onFailure(now: number, reason: string, opts: { permanent?: boolean } = {}): void {
    const state = this.state(now);
    if (state === 'open') return; // in flight before it opened: already accounted for
    this.failuresCount++;
    this.lastReason = reason;
    if (state === 'half-open' || opts.permanent || this.failuresCount >= this.opts.failureThreshold) {
      const backoff = Math.min(
        this.opts.maxBackoffMs,
        this.opts.baseBackoffMs * this.opts.factor ** Math.min(this.opens, 60),
      );
      this.opens++;
      this.until = now + backoff;
    }
    this.probing = false;
  }

  release(): void {
    this.probing = false;
  }

  reset(): void {
    this.onSuccess();
  }

  snapshot(): BreakerSnapshot {
    const snap: BreakerSnapshot = { failures: this.failuresCount, opens: this.opens, openUntil: this.until };
    if (this.lastReason !== undefined) snap.reason = this.lastReason;
    return snap;
  }
}

export function isBreakerSnapshot(x: unknown): x is BreakerSnapshot {
  if (!x || typeof x !== 'object') return false;
  const s = x as Partial<BreakerSnapshot>;
  return (
    typeof s.failures === 'number' &&
    typeof s.opens === 'number' &&
    (s.openUntil === null || typeof s.openUntil === 'number') &&
    (s.reason === undefined || typeof s.reason === 'string')
  );
}
