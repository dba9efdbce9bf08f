/**
 * When a chatbot's reply is finished and worth checking: it is not streaming any more (no stop control, no
 * streaming marker) and its text has not changed for `stableMs`. A reply is checked once per text: if it changes
 * afterwards (regenerated, edited, continued) it is checked again once it is stable again.
 *
 * Pure and clock-free: the caller feeds what it sees now and asks when to look again.
 *
 * Public API: `ReplySighting`, `ReplyTracker` (`observe(sightings, now)`, `recheck(key, now)`, `nextDueAt()`,
 * `size`), `REPLY_STABLE_MS`.
 */

/** How long a finished reply's text must stay the same before it is checked. */
export const REPLY_STABLE_MS = 1000;

export interface ReplySighting<K> {
  key: K;
  text: string;
  /** Still being written (a stop control is showing, or the reply carries a streaming marker). */
  streaming: boolean;
}

interface Entry {
  text: string;
  changedAt: number;
  streaming: boolean;
  checkedText: string | null;
}

export class ReplyTracker<K> {
  private readonly entries = new Map<K, Entry>();
  private readonly stableMs: number;

  constructor(options: { stableMs?: number } = {}) {
    this.stableMs = options.stableMs ?? REPLY_STABLE_MS;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Records what is on the page now (every reply found; replies no longer found are forgotten) and returns the
   * replies to check now, each with its text. A returned reply is not returned again until its text changes.
   */
  observe(sightings: readonly ReplySighting<K>[], now: number): Array<{ key: K; text: string }> {
    const seen = new Set<K>();
    const ready: Array<{ key: K; text: string }> = [];
    for (const { key, text, streaming } of sightings) {
      seen.add(key);
      let entry = this.entries.get(key);
      if (!entry) {
        entry = { text, changedAt: now, streaming, checkedText: null };
        this.entries.set(key, entry);
      } else if (entry.text !== text) {
        entry.text = text;
        entry.changedAt = now;
      }
      entry.streaming = streaming;
      if (this.isDue(entry, now)) {
        entry.checkedText = text;
        ready.push({ key, text });
      }
    }
    for (const key of [...this.entries.keys()]) if (!seen.has(key)) this.entries.delete(key);
    return ready;
  }

  private isDue(entry: Entry, now: number): boolean {
    return (
      !entry.streaming &&
      entry.text.trim() !== '' &&
      entry.checkedText !== entry.text &&
      now - entry.changedAt >= this.stableMs
    );
  }

  /**
   * Makes a reply due again because its check could not be made: checked once its text has been stable for
   * `stableMs` after `now + delayMs`.
   */
  recheck(key: K, now: number, delayMs = 0): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.checkedText = null;
    entry.changedAt = now + delayMs;
  }

  /** When a reply that is waiting only for its text to settle becomes due, or null when none is waiting. */
  nextDueAt(): number | null {
    let next: number | null = null;
    for (const entry of this.entries.values()) {
      if (entry.streaming || entry.text.trim() === '' || entry.checkedText === entry.text) continue;
      const at = entry.changedAt + this.stableMs;
      if (next === null || at < next) next = at;
    }
    return next;
  }
}
