/**
 * IndexedDB backing for the scan engine's verdict cache (`lib/engine/cache.ts`), so verdicts survive the browser
 * stopping the background. Browser-only (needs `indexedDB`); the cache's logic is tested in Node over
 * `MemoryVerdictStore`, this adapter end to end in the browser.
 *
 * Public API:
 * - `IdbVerdictStore(dbName = 'guardlens-verdicts')` implements `VerdictStore`: `get`, `set`, `delete`, `clear`,
 *   `keys`, `entries`. The database is opened on first use; if the browser closes it (storage pressure,
 *   version change), the next call opens it again.
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import type { VerdictStore } from '@/lib/engine/cache';

const STORE = 'verdicts';

interface VerdictDb extends DBSchema {
  verdicts: { key: string; value: unknown };
}

export class IdbVerdictStore implements VerdictStore {
  private readonly name: string;
  private db: Promise<IDBPDatabase<VerdictDb>> | null = null;

  constructor(dbName = 'guardlens-verdicts') {
    this.name = dbName;
  }

  private open(): Promise<IDBPDatabase<VerdictDb>> {
    if (!this.db) {
      const opening = openDB<VerdictDb>(this.name, 1, {
        upgrade(db) {
          if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE);
        },
        blocking: () => this.close(),
        terminated: () => {
          this.db = null;
        },
      });
      // A failed open is not remembered: the next call tries again.
      opening.catch(() => {
        if (this.db === opening) this.db = null;
      });
      this.db = opening;
    }
    return this.db;
  }

  private close(): void {
    const db = this.db;
    this.db = null;
    db?.then((d) => d.close()).catch(() => {});
  }

  async get(key: string): Promise<unknown> {
    return (await this.open()).get(STORE, key);
  }

  async set(key: string, value: unknown): Promise<void> {
    await (await this.open()).put(STORE, value, key);
  }

  async delete(key: string): Promise<void> {
    await (await this.open()).delete(STORE, key);
  }

  async clear(): Promise<void> {
    await (await this.open()).clear(STORE);
  }

  async keys(): Promise<string[]> {
    return (await this.open()).getAllKeys(STORE);
  }

  async entries(): Promise<Array<[string, unknown]>> {
    const tx = (await this.open()).transaction(STORE, 'readonly');
    const [keys, values] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll(), tx.done]);
    return keys.map((k, i) => [k, values[i]]);
  }
}
