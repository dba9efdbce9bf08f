import { describe, expect, it } from 'vitest';
import type { Verdict } from '../guard/types';
import { FINGERPRINT_KEY, MemoryVerdictStore, VerdictCache, type VerdictStore } from './cache';
import { EngineError } from './types';

const SAFE: Verdict = { safe: true, categories: [], unknownCategories: [] };
const UNSAFE: Verdict = { safe: false, categories: ['S1', 'S10'], unknownCategories: [] };
const key = (i: number) => i.toString(16).padStart(64, '0');

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, tick: (ms = 1) => (t += ms) };
}

describe('VerdictCache', () => {
  it('stores and returns verdicts, as copies', async () => {
    const cache = new VerdictCache(new MemoryVerdictStore());
    await cache.init();
    await cache.set(key(1), UNSAFE);
    const got = await cache.get(key(1));
    expect(got).toEqual(UNSAFE);
    got!.categories.push('S2');
    expect(await cache.get(key(1))).toEqual(UNSAFE);
    expect(await cache.get(key(2))).toBeUndefined();
  });

  it('keeps at most maxEntries, evicting the least recently used', async () => {
    const c = clock();
    const store = new MemoryVerdictStore();
    const cache = new VerdictCache(store, { maxEntries: 3, now: c.now });
    for (const i of [1, 2, 3]) {
      c.tick();
      await cache.set(key(i), SAFE);
    }
    await cache.get(key(1)); // 1 is now the most recently used; 2 is the oldest
    await cache.set(key(4), SAFE);
    expect(cache.size).toBe(3);
    expect(await cache.get(key(2))).toBeUndefined();
    expect(await cache.get(key(1))).toEqual(SAFE);
    expect(store.data.has(key(2))).toBe(false);
  });

  it('keeps its approximate size under maxBytes', async () => {
    const store = new MemoryVerdictStore();
    const cache = new VerdictCache(store, { maxBytes: 1000 });
    for (let i = 0; i < 50; i++) await cache.set(key(i), UNSAFE);
    expect(cache.bytes).toBeLessThanOrEqual(1000);
    expect(cache.size).toBeGreaterThan(2);
    expect(cache.size).toBeLessThan(50);
    expect(store.data.size).toBe(cache.size);
    expect(await cache.get(key(49))).toEqual(UNSAFE);
    expect(await cache.get(key(0))).toBeUndefined();
  });

  it('survives a restart with its LRU order (entries read back by last use)', async () => {
    const c = clock();
    const store = new MemoryVerdictStore();
    const first = new VerdictCache(store, { now: c.now, touchAfterMs: 0 });
    for (const i of [1, 2, 3]) {
      c.tick();
      await first.set(key(i), SAFE);
    }
    c.tick();
    await first.get(key(1)); // rewritten with a newer time

    const second = new VerdictCache(store, { now: c.now, maxEntries: 2 });
    await second.init();
    expect(second.size).toBe(2);
    expect(await second.get(key(2))).toBeUndefined();
    expect(await second.get(key(1))).toEqual(SAFE);
    expect(await second.get(key(3))).toEqual(SAFE);
  });

  it('works over a store that cannot list its keys', async () => {
    const mem = new MemoryVerdictStore();
    const bare: VerdictStore = {
      get: (k) => mem.get(k),
      set: (k, v) => mem.set(k, v),
      delete: (k) => mem.delete(k),
      clear: () => mem.clear(),
    };
    await new VerdictCache(bare).set(key(1), UNSAFE);
    const after = new VerdictCache(bare, { maxEntries: 1 });
    await after.init();
    expect(await after.get(key(1))).toEqual(UNSAFE);
    await after.set(key(2), SAFE);
    expect(await after.get(key(1))).toBeUndefined();
  });

  it('drops everything when the fingerprint changes, and only then', async () => {
    const store = new MemoryVerdictStore();
    const cache = new VerdictCache(store);
    await cache.init();
    expect(await cache.clearIfFingerprintChanged('fp-a')).toBe(true);
    await cache.set(key(1), UNSAFE);
    expect(await cache.clearIfFingerprintChanged('fp-a')).toBe(false);
    expect(await cache.get(key(1))).toEqual(UNSAFE);
    expect(await cache.clearIfFingerprintChanged('fp-b')).toBe(true);
    expect(await cache.get(key(1))).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(await store.get(FINGERPRINT_KEY)).toEqual({ fingerprint: 'fp-b' });

    // A restarted cache remembers the fingerprint.
    const again = new VerdictCache(store);
    await again.init();
    expect(await again.clearIfFingerprintChanged('fp-b')).toBe(false);
  });

  it('keeps the fingerprint across clear()', async () => {
    const store = new MemoryVerdictStore();
    const cache = new VerdictCache(store);
    await cache.clearIfFingerprintChanged('fp');
    await cache.set(key(1), SAFE);
    await cache.clear();
    expect(cache.size).toBe(0);
    expect(await cache.clearIfFingerprintChanged('fp')).toBe(false);
  });

  it('answers a miss without asking the store once it has read every key, and a hit as before', async () => {
    const store = new MemoryVerdictStore();
    await store.set(key(1), { v: SAFE, t: 1 });
    let reads = 0;
    const counting: VerdictStore = {
      get: (k) => {
        reads++;
        return store.get(k);
      },
      set: (k, v) => store.set(k, v),
      delete: (k) => store.delete(k),
      clear: () => store.clear(),
      keys: () => store.keys(),
    };
    const cache = new VerdictCache(counting);
    // Before `init` nothing is known: the store is asked.
    expect(await cache.get(key(9))).toBeUndefined();
    expect(reads).toBe(1);
    await cache.init();
    // A page seen for the first time: every lookup a miss, none of them a store read.
    for (let i = 10; i < 60; i++) expect(await cache.get(key(i))).toBeUndefined();
    expect(reads).toBe(1);
    expect(await cache.get(key(1))).toEqual(SAFE);
    expect(reads).toBe(2);
    // A verdict being written is looked up in the store, not taken for a miss.
    const writing = cache.set(key(2), UNSAFE);
    expect(await cache.get(key(2))).toEqual(UNSAFE);
    await writing;
  });

  it('never reads a malformed stored value as a verdict', async () => {
    const store = new MemoryVerdictStore();
    await store.set(key(1), { v: { safe: true }, t: 1 });
    await store.set(key(2), 'safe');
    await store.set(key(3), { v: { safe: true, categories: ['S1'], unknownCategories: [] }, t: 1 });
    const cache = new VerdictCache(store);
    expect(await cache.get(key(1))).toBeUndefined();
    expect(await cache.get(key(2))).toBeUndefined();
    expect(await cache.get(key(3))).toBeUndefined();
    expect(store.data.size).toBe(0);
  });

  it('rejects bad keys, verdicts and bounds with typed errors', async () => {
    const cache = new VerdictCache(new MemoryVerdictStore());
    await expect(cache.set(FINGERPRINT_KEY, SAFE)).rejects.toBeInstanceOf(EngineError);
    await expect(cache.set(key(1), { safe: 'yes' } as unknown as Verdict)).rejects.toMatchObject({
      kind: 'invalid-input',
    });
    expect(() => new VerdictCache(new MemoryVerdictStore(), { maxEntries: 0 })).toThrow(EngineError);
  });
});
