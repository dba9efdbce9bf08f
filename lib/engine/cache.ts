/**
 * Verdict cache: a bounded LRU over an injected async key–value store, so a verdict is paid for once and
 * remembered across service-worker restarts (the background backs it with IndexedDB, `utils/verdict-store.ts`).
 *
 * Public API:
 * - `VerdictStore` — the store interface: `get`, `set`, `delete`, `clear`, and optionally `keys()` / `entries()`
 *   (used once by `init()` to rebuild the LRU order after a restart).
 * - `MemoryVerdictStore` — an in-memory store for tests and Node.
 * - `VerdictCache(store, { maxEntries?, maxBytes?, now?, touchAfterMs? })`:
 *   - `init(): Promise<void>` — reads what the store already holds (order by last use) and trims it to bounds;
 *   - `get(key): Promise<Verdict | undefined>` — marks the entry as used;
 *   - `set(key, verdict): Promise<void>` — stores it, then evicts least recently used entries past either bound;
 *   - `delete(key)`, `clear()`;
 *   - `clearIfFingerprintChanged(fp): Promise<boolean>` — drops everything when the model, mode or policy
 *     changed since the last call (true when it did), and remembers `fp`;
 *   - `size`, `bytes` — entries and approximate bytes the cache accounts for.
 *
 * Stored values are `{ v: Verdict, t: lastUsedEpochMs }` under the content key; one reserved key (`~fingerprint`)
 * holds the fingerprint. A stored value that is not a well-formed verdict is deleted and reported as a miss —
 * never read as "safe".
 */
import type { Verdict } from '../guard/types';
import { EngineError } from './types';

export interface VerdictStore {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  clear(): Promise<void>;
  keys?(): Promise<string[]>;
  entries?(): Promise<Array<[string, unknown]>>;
}

/** A `VerdictStore` in memory; values are copied in and out, as a real store would. */
export class MemoryVerdictStore implements VerdictStore {
  readonly data = new Map<string, string>();

  async get(key: string): Promise<unknown> {
    const raw = this.data.get(key);
    return raw === undefined ? undefined : JSON.parse(raw);
  }
  async set(key: string, value: unknown): Promise<void> {
    this.data.set(key, JSON.stringify(value));
  }
  async delete(key: string): Promise<void> {
    this.data.delete(key);
  }
  async clear(): Promise<void> {
    this.data.clear();
  }
  async keys(): Promise<string[]> {
    return [...this.data.keys()];
  }
  async entries(): Promise<Array<[string, unknown]>> {
    return [...this.data].map(([k, raw]) => [k, JSON.parse(raw)]);
  }
}

export const FINGERPRINT_KEY = '~fingerprint';
export const DEFAULT_MAX_ENTRIES = 50_000;
export const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
/** A read rewrites the entry's last-use time only when it is older than this (saves a write per hit). */
export const DEFAULT_TOUCH_AFTER_MS = 60 * 60 * 1000;
/** Accounting overhead per entry beyond its key and JSON value. */
const ENTRY_OVERHEAD = 48;

export interface CacheOptions {
  maxEntries?: number;
  maxBytes?: number;
  now?: () => number;
  touchAfterMs?: number;
}

interface StoredVerdict {
  v: Verdict;
  t: number;
}

function isStringArray(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((s) => typeof s === 'string');
}

export function isVerdict(x: unknown): x is Verdict {
  if (!x || typeof x !== 'object') return false;
  const v = x as Partial<Verdict>;
  return (
    typeof v.safe === 'boolean' &&
    isStringArray(v.categories) &&
    isStringArray(v.unknownCategories) &&
    (v.safe ? v.categories.length === 0 : true)
  );
}

function readStored(x: unknown): StoredVerdict | undefined {
  if (!x || typeof x !== 'object') return undefined;
  const r = x as Partial<StoredVerdict>;
  if (!isVerdict(r.v) || typeof r.t !== 'number' || !Number.isFinite(r.t)) return undefined;
  return r as StoredVerdict;
}

function copyVerdict(v: Verdict): Verdict {
  return { safe: v.safe, categories: [...v.categories], unknownCategories: [...v.unknownCategories] };
}

function sizeOf(key: string, record: StoredVerdict): number {
  return key.length + JSON.stringify(record).length + ENTRY_OVERHEAD;
}

function checkKey(key: string): void {
  if (typeof key !== 'string' || !key || key.startsWith('~')) {
    throw new EngineError('invalid-input', `Not a cache key: ${JSON.stringify(key)}`);
  }
}

export class VerdictCache {
  private readonly store: VerdictStore;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly now: () => number;
  private readonly touchAfterMs: number;
  /** Key → accounted bytes, least recently used first. */
  private readonly index = new Map<string, number>();
  private totalBytes = 0;
  /**
   * The index holds every key the store does (`init` read them all, and every write since went through here): a
   * key it lacks is a miss without asking the store — on a page seen for the first time, every block's lookup.
   */
  private complete = false;

  constructor(store: VerdictStore, opts: CacheOptions = {}) {
    this.store = store;
    this.maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    this.now = opts.now ?? (() => Date.now());
    this.touchAfterMs = opts.touchAfterMs ?? DEFAULT_TOUCH_AFTER_MS;
    if (!(this.maxEntries >= 1) || !(this.maxBytes >= 1)) {
      throw new EngineError('invalid-input', 'Cache bounds must be positive.');
    }
  }

  get size(): number {
    return this.index.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  async init(): Promise<void> {
    this.complete = false;
    this.index.clear();
    this.totalBytes = 0;
    if (this.store.entries) {
      const rows: Array<[string, StoredVerdict]> = [];
      for (const [key, value] of await this.store.entries()) {
        if (key === FINGERPRINT_KEY) continue;
        const rec = readStored(value);
        if (rec) rows.push([key, rec]);
        else await this.store.delete(key);
      }
      rows.sort((a, b) => a[1].t - b[1].t);
      for (const [key, rec] of rows) this.account(key, sizeOf(key, rec));
      this.complete = true;
    } else if (this.store.keys) {
      // Order unknown: take the store's; sizes are estimated for a typical verdict.
      for (const key of await this.store.keys()) {
        if (key !== FINGERPRINT_KEY) this.account(key, key.length + 80 + ENTRY_OVERHEAD);
      }
      this.complete = true;
    }
    await this.evict();
  }

  async get(key: string): Promise<Verdict | undefined> {
    checkKey(key);
    if (this.complete && !this.index.has(key)) return undefined;
    const raw = await this.store.get(key);
    const rec = readStored(raw);
    if (!rec) {
      this.forget(key);
      // Whatever was there is not a verdict: remove it so it can never be read as one.
      if (raw !== undefined) await this.store.delete(key);
      return undefined;
    }
    const now = this.now();
    if (now - rec.t >= this.touchAfterMs) {
      rec.t = now;
      await this.store.set(key, rec);
    }
    this.forget(key);
    this.account(key, sizeOf(key, rec));
    await this.evict();
    return copyVerdict(rec.v);
  }

  async set(key: string, verdict: Verdict): Promise<void> {
    checkKey(key);
    if (!isVerdict(verdict))
      throw new EngineError('invalid-input', 'Only well-formed verdicts can be cached.');
    const rec: StoredVerdict = { v: copyVerdict(verdict), t: this.now() };
    // Accounted first, so a lookup while the write is under way asks the store rather than taking a miss.
    this.forget(key);
    this.account(key, sizeOf(key, rec));
    await this.store.set(key, rec);
    await this.evict();
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    this.forget(key);
    await this.store.delete(key);
  }

  async clear(): Promise<void> {
    const fp = await this.store.get(FINGERPRINT_KEY);
    this.index.clear();
    this.totalBytes = 0;
    await this.store.clear();
    if (fp !== undefined) await this.store.set(FINGERPRINT_KEY, fp);
  }

  async clearIfFingerprintChanged(fingerprint: string): Promise<boolean> {
    if (typeof fingerprint !== 'string' || !fingerprint) {
      throw new EngineError('invalid-input', 'A fingerprint must be a non-empty string.');
    }
    const stored = (await this.store.get(FINGERPRINT_KEY)) as { fingerprint?: unknown } | undefined;
    if (stored && stored.fingerprint === fingerprint) return false;
    this.index.clear();
    this.totalBytes = 0;
    await this.store.clear();
    await this.store.set(FINGERPRINT_KEY, { fingerprint });
    return true;
  }

  private account(key: string, bytes: number): void {
    this.index.set(key, bytes);
    this.totalBytes += bytes;
  }

  private forget(key: string): void {
    const bytes = this.index.get(key);
    if (bytes === undefined) return;
    this.index.delete(key);
    this.totalBytes -= bytes;
  }

  /** Drops least recently used entries until both bounds hold (the newest entry always stays). */
  private async evict(): Promise<void> {
    while (this.index.size > 1 && (this.index.size > this.maxEntries || this.totalBytes > this.maxBytes)) {
      const oldest = this.index.keys().next().value as string;
      this.forget(oldest);
      await this.store.delete(oldest);
    }
  }
}
