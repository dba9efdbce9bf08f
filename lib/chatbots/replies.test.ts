import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REPLY_STABLE_MS, ReplyTracker } from './replies';

describe('ReplyTracker', () => {
  it('checks a reply once it stopped streaming and its text stayed the same long enough', () => {
    const t = new ReplyTracker<string>();
    expect(t.observe([{ key: 'r', text: 'Hel', streaming: true }], 0)).toEqual([]);
    expect(t.nextDueAt()).toBeNull();
    expect(t.observe([{ key: 'r', text: 'Hello there', streaming: true }], 500)).toEqual([]);
    // Streaming ended: due REPLY_STABLE_MS after the last change.
    expect(t.observe([{ key: 'r', text: 'Hello there', streaming: false }], 900)).toEqual([]);
    expect(t.nextDueAt()).toBe(500 + REPLY_STABLE_MS);
    expect(t.observe([{ key: 'r', text: 'Hello there', streaming: false }], 500 + REPLY_STABLE_MS)).toEqual([
      { key: 'r', text: 'Hello there' },
    ]);
    // Once per text.
    expect(t.observe([{ key: 'r', text: 'Hello there', streaming: false }], 5000)).toEqual([]);
    expect(t.nextDueAt()).toBeNull();
  });

  it('checks again when the text changes, and forgets replies that are gone', () => {
    const t = new ReplyTracker<string>({ stableMs: 100 });
    t.observe([{ key: 'a', text: 'one', streaming: false }], 0);
    expect(t.observe([{ key: 'a', text: 'one', streaming: false }], 100)).toHaveLength(1);
    expect(t.observe([{ key: 'a', text: 'one, regenerated', streaming: false }], 200)).toEqual([]);
    expect(t.observe([{ key: 'a', text: 'one, regenerated', streaming: false }], 300)).toEqual([
      { key: 'a', text: 'one, regenerated' },
    ]);
    t.observe([], 400);
    expect(t.size).toBe(0);
  });

  it('checks a reply again, after a delay, when its check could not be made', () => {
    const t = new ReplyTracker<string>({ stableMs: 100 });
    t.observe([{ key: 'r', text: 'done', streaming: false }], 0);
    expect(t.observe([{ key: 'r', text: 'done', streaming: false }], 100)).toHaveLength(1);
    t.recheck('r', 200, 1000);
    expect(t.nextDueAt()).toBe(1300);
    expect(t.observe([{ key: 'r', text: 'done', streaming: false }], 1299)).toEqual([]);
    expect(t.observe([{ key: 'r', text: 'done', streaming: false }], 1300)).toEqual([
      { key: 'r', text: 'done' },
    ]);
    t.recheck('gone', 0);
  });

  it('never checks an empty reply or one still streaming', () => {
    const t = new ReplyTracker<string>({ stableMs: 10 });
    expect(t.observe([{ key: 'e', text: '  ', streaming: false }], 0)).toEqual([]);
    expect(t.observe([{ key: 'e', text: '  ', streaming: false }], 100)).toEqual([]);
    expect(t.observe([{ key: 's', text: 'x', streaming: true }], 100)).toEqual([]);
    expect(t.observe([{ key: 's', text: 'x', streaming: true }], 10_000)).toEqual([]);
  });

  it('never returns a text that was not stable for stableMs (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ text: fc.constantFrom('a', 'ab', 'abc'), streaming: fc.boolean(), dt: fc.nat(300) }),
          {
            maxLength: 30,
          },
        ),
        (steps) => {
          const t = new ReplyTracker<string>({ stableMs: 200 });
          let now = 0;
          let lastText: string | null = null;
          let changedAt = 0;
          const checked: string[] = [];
          for (const s of steps) {
            now += s.dt;
            if (s.text !== lastText) {
              lastText = s.text;
              changedAt = now;
            }
            for (const r of t.observe([{ key: 'k', text: s.text, streaming: s.streaming }], now)) {
              expect(s.streaming).toBe(false);
              expect(now - changedAt).toBeGreaterThanOrEqual(200);
              expect(checked.at(-1)).not.toBe(r.text);
              checked.push(r.text);
            }
          }
        },
      ),
    );
  });
});
