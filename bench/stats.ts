/** Small statistics helpers for the benchmark. Every function ignores `undefined` and non-finite values. */

export function finite(values: ReadonlyArray<number | undefined | null>): number[] {
  return values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
}

/** The value below which `p` (0–1) of the values lie, linearly interpolated; `undefined` when empty. */
export function percentile(values: ReadonlyArray<number | undefined | null>, p: number): number | undefined {
  const sorted = finite(values).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const at = (sorted.length - 1) * p;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low);
}

export function median(values: ReadonlyArray<number | undefined | null>): number | undefined {
  return percentile(values, 0.5);
}

export function min(values: ReadonlyArray<number | undefined | null>): number | undefined {
  const list = finite(values);
  return list.length ? Math.min(...list) : undefined;
}

export function max(values: ReadonlyArray<number | undefined | null>): number | undefined {
  const list = finite(values);
  return list.length ? Math.max(...list) : undefined;
}

export function sum(values: ReadonlyArray<number | undefined | null>): number {
  return finite(values).reduce((a, b) => a + b, 0);
}

/** `a / b`, or `undefined` when either is missing or `b` is 0. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

/** Rounds to `digits` decimals, keeping `undefined`. */
export function round(value: number | undefined, digits = 2): number | undefined {
  if (value === undefined || !Number.isFinite(value)) return undefined;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
