import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Verdict } from '../guard/types';
import {
  chunkBudget,
  nextRange,
  packBlocks,
  recordRange,
  runChunk,
  runChunkParallel,
  SEPARATOR_TOKENS,
  splitText,
  splitWays,
  startBisect,
} from './chunker';
import { normalizeText } from './keys';
import { estimateTokens } from './tokens';
import { EngineError } from './types';

interface B {
  i: number;
  text: string;
}

/** A model that flags any text containing `BAD:<code>`, with those codes in order. */
function verdictOf(text: string): Verdict {
  const codes = [...new Set([...text.matchAll(/BAD:(S\d+)/g)].map((m) => m[1]!))];
  return { safe: codes.length === 0, categories: codes, unknownCategories: [] };
}

function blocks(n: number, bad: Record<number, string> = {}): B[] {
  return Array.from({ length: n }, (_, i) => ({
    i,
    text: bad[i] ? `block ${i} BAD:${bad[i]}` : `block ${i}`,
  }));
}

async function run(list: B[], model = (bs: B[]) => verdictOf(bs.map((b) => b.text).join('\n\n'))) {
  const verdicts = new Map<number, Verdict>();
  let responses = 0;
  const { requests } = await runChunk(list, {
    ask: async (bs) => ({
      verdict: model(bs),
      usage: { promptTokens: 1, completionTokens: 1 },
      latencyMs: 1,
    }),
    onResponse: () => {
      responses++;
    },
    onVerdict: (b, v) => {
      expect(verdicts.has(b.i), `block ${b.i} settled twice`).toBe(false);
      verdicts.set(b.i, v);
    },
  });
  expect(responses).toBe(requests);
  const flagged = [...verdicts].filter(([, v]) => !v.safe).map(([i]) => i);
  return { requests, verdicts, flagged: flagged.sort((a, b) => a - b) };
}

describe('chunkBudget', () => {
  it('defaults to 2000 tokens and caps to the context window', () => {
    expect(chunkBudget()).toBe(2000);
    expect(chunkBudget({ requested: 3000, contextWindow: 8192 })).toBe(3000);
    expect(chunkBudget({ requested: 8000, contextWindow: 8192 })).toBe(Math.floor((8192 - 320) / 1.25));
    expect(chunkBudget({ requested: 2000, contextWindow: 2048, headerTokens: 400 })).toBe(
      Math.floor((2048 - 420) / 1.25),
    );
  });

  it('rejects budgets that leave no room', () => {
    expect(() => chunkBudget({ requested: 0 })).toThrow(EngineError);
    expect(() => chunkBudget({ contextWindow: 300 })).toThrow(/no room/);
  });
});

describe('splitText', () => {
  const sentence = (i: number) =>
    `Sentence number ${i} talks about the weather and the garden at some length.`;
  const paragraph = Array.from({ length: 60 }, (_, i) => sentence(i)).join(' ');

  it('keeps a block that fits whole', () => {
    expect(splitText('  short text ', 100)).toEqual(['short text']);
    expect(splitText('   ', 100)).toEqual([]);
  });

  it('cuts a long block at sentence boundaries, each part within the budget', () => {
    const parts = splitText(paragraph, 100);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) {
      expect(estimateTokens(p)).toBeLessThanOrEqual(100);
      expect(p).toMatch(/^Sentence number \d+ .*\.$/);
    }
    expect(parts.join(' ')).toBe(paragraph);
  });

  it('falls back to words, then characters', () => {
    const words = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
    const parts = splitText(words, 50);
    for (const p of parts) expect(estimateTokens(p)).toBeLessThanOrEqual(50);
    expect(parts.join(' ')).toBe(words);

    const cjk = '这是一个很长的没有标点的句子'.repeat(40);
    const cjkParts = splitText(cjk, 30);
    for (const p of cjkParts) expect(estimateTokens(p)).toBeLessThanOrEqual(30);
    expect(cjkParts.join('')).toBe(cjk);

    const chineseSentences = '今天天气很好。我们去公园散步吧！'.repeat(30);
    const sentenceParts = splitText(chineseSentences, 40);
    for (const p of sentenceParts) {
      expect(estimateTokens(p)).toBeLessThanOrEqual(40);
      expect(p).toMatch(/[。！]$/);
    }
  });

  it('always returns parts within budget that rebuild the normalized text', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('. ', '! ', '。', '\n', ' ', '🎉')), {
          maxLength: 80,
        }),
        fc.integer({ min: 1, max: 60 }),
        (pieces, max) => {
          const text = normalizeText(pieces.join(''));
          const parts = splitText(text, max);
          for (const p of parts) {
            // A single code point may exceed a tiny budget on its own; nothing else may.
            if (Array.from(p).length > 1) expect(estimateTokens(p)).toBeLessThanOrEqual(max);
          }
          expect(parts.join('').replace(/\s/g, '')).toBe(text.replace(/\s/g, ''));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('packBlocks', () => {
  it('packs consecutive blocks up to the budget, counting separators', () => {
    const list = [600, 600, 600, 900, 100, 2500, 10].map((tokens, i) => ({ i, tokens }));
    const chunks = packBlocks(list, 2000).map((c) => c.map((b) => b.i));
    expect(chunks).toEqual([[0, 1, 2], [3, 4], [5], [6]]);
    for (const c of packBlocks(list, 2000)) {
      if (c.length > 1) {
        const total = c.reduce((s, b) => s + b.tokens, 0) + SEPARATOR_TOKENS * (c.length - 1);
        expect(total).toBeLessThanOrEqual(2000);
      }
    }
  });

  it('keeps order and loses nothing', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 800 }), { maxLength: 60 }), (sizes) => {
        const list = sizes.map((tokens, i) => ({ i, tokens }));
        expect(
          packBlocks(list, 1000)
            .flat()
            .map((b) => b.i),
        ).toEqual(list.map((b) => b.i));
      }),
      { numRuns: 200 },
    );
  });
});

describe('bisection', () => {
  it('costs one request for a safe chunk', async () => {
    const r = await run(blocks(16));
    expect(r.requests).toBe(1);
    expect(r.flagged).toEqual([]);
    expect(r.verdicts.size).toBe(16);
  });

  it('finds exactly the 2 offending blocks out of 16 with about 2·log2(16) extra requests', async () => {
    const r = await run(blocks(16, { 3: 'S1', 12: 'S10' }));
    expect(r.flagged).toEqual([3, 12]);
    expect(r.verdicts.get(3)).toEqual({ safe: false, categories: ['S1'], unknownCategories: [] });
    expect(r.verdicts.get(12)).toEqual({ safe: false, categories: ['S10'], unknownCategories: [] });
    const extra = r.requests - 1;
    // 8 = 2·log2(16) is the information-theoretic ideal; plain halving (both halves always asked) would need 14.
    expect(extra).toBe(12);
    expect(extra).toBeLessThanOrEqual(2 * 2 * Math.log2(16));
    for (const [i, v] of r.verdicts) if (i !== 3 && i !== 12) expect(v.safe).toBe(true);
  });

  it('needs fewer requests when the offence sits on the right', async () => {
    // Left halves come back clean, so right halves are split without being asked.
    expect((await run(blocks(16, { 15: 'S2' }))).requests - 1).toBe(5);
    expect((await run(blocks(16, { 0: 'S2' }))).requests - 1).toBe(8);
    const both = await run(blocks(16, { 14: 'S1', 15: 'S2' }));
    expect(both.flagged).toEqual([14, 15]);
  });

  it('flags exactly the offending blocks, within 2·k·⌈log2 n⌉ extra requests', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 40 })
          .chain((n) =>
            fc.tuple(fc.constant(n), fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { maxLength: 4 })),
          ),
        async ([n, bad]) => {
          const r = await run(blocks(n, Object.fromEntries(bad.map((i) => [i, 'S9']))));
          expect(r.flagged).toEqual([...bad].sort((a, b) => a - b));
          expect(r.verdicts.size).toBe(n);
          expect(r.requests - 1).toBeLessThanOrEqual(2 * bad.length * Math.ceil(Math.log2(n)));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('never flags a block for an offence that only exists in combination', async () => {
    // Unsafe only when blocks 2 and 9 are asked together.
    const model = (bs: B[]): Verdict => {
      const both = bs.some((b) => b.i === 2) && bs.some((b) => b.i === 9);
      return { safe: !both, categories: both ? ['S11'] : [], unknownCategories: [] };
    };
    const r = await run(blocks(12), model);
    expect(r.flagged).toEqual([]);
    expect(r.verdicts.size).toBe(12);
  });

  it('keeps verdicts already reported when a request fails part-way', async () => {
    const seen: number[] = [];
    let calls = 0;
    const failure = Object.assign(new Error('rate limited'), { kind: 'rate-limited', retryable: true });
    await expect(
      runChunk(blocks(8, { 6: 'S1' }), {
        ask: async (bs) => {
          if (++calls === 3) throw failure;
          return {
            verdict: verdictOf(bs.map((b) => b.text).join(' ')),
            usage: { promptTokens: 0, completionTokens: 0 },
            latencyMs: 0,
          };
        },
        onVerdict: (b) => seen.push(b.i),
      }),
    ).rejects.toBe(failure);
    // Request 1: all 8 unsafe; request 2: blocks 0–3 safe; request 3 fails.
    expect(seen).toEqual([0, 1, 2, 3]);
  });

  it('has a planner that refuses answers out of turn', () => {
    const plan = startBisect(4);
    expect(() => recordRange(plan, { lo: 0, hi: 4 }, verdictOf(''))).toThrow(EngineError);
    const r = nextRange(plan)!;
    expect(r).toEqual({ lo: 0, hi: 4 });
    expect(() => nextRange(plan)).toThrow(/first/);
    expect(recordRange(plan, r, verdictOf(''))).toEqual([0, 1, 2, 3]);
    expect(nextRange(plan)).toBeNull();
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
    expect(() => startBisect(0)).toThrow(EngineError);
  });
});

describe('parallel k-ary search', () => {
  const verdictOf = (blocks: string[]): Verdict => {
    const bad = blocks.filter((b) => b.startsWith('bad'));
    return { safe: bad.length === 0, categories: bad.length ? ['S1'] : [], unknownCategories: [] };
  };

  /** Runs a search with `slots` slots in all; records the rounds and the slots held at most. */
  async function search(blocks: string[], ways: number, slots: number) {
    let held = 1;
    let peak = 1;
    const waiting: Array<() => void> = [];
    const asked: string[][] = [];
    const verdicts = new Map<string, Verdict>();
    const result = await runChunkParallel(blocks, {
      ways,
      ask: async (part) => {
        asked.push(part);
        await new Promise((r) => setTimeout(r, 1));
        return { verdict: verdictOf(part), usage: { promptTokens: 1, completionTokens: 1 }, latencyMs: 1 };
      },
      onVerdict: (block, verdict) => {
        expect(verdicts.has(block)).toBe(false);
        verdicts.set(block, verdict);
      },
      acquire: (signal) =>
        new Promise<boolean>((resolve) => {
          if (held < slots) {
            held++;
            peak = Math.max(peak, held);
            resolve(true);
            return;
          }
          const grant = () => {
            held++;
            peak = Math.max(peak, held);
            resolve(true);
          };
          waiting.push(grant);
          signal.addEventListener('abort', () => {
            if (waiting.includes(grant)) waiting.splice(waiting.indexOf(grant), 1);
            resolve(false);
          });
        }),
      release: () => {
        held--;
        waiting.shift()?.();
      },
    });
    return { result, asked, verdicts, peak, held };
  }

  it('cuts a range into parts that differ by at most one block', () => {
    expect(splitWays({ lo: 0, hi: 10 }, 4)).toEqual([
      { lo: 0, hi: 3 },
      { lo: 3, hi: 6 },
      { lo: 6, hi: 8 },
      { lo: 8, hi: 10 },
    ]);
    expect(splitWays({ lo: 5, hi: 7 }, 4)).toEqual([
      { lo: 5, hi: 6 },
      { lo: 6, hi: 7 },
    ]);
  });

  it('finds every offending block alone, within the slots it may take, and gives every slot back', async () => {
    const blocks = Array.from({ length: 16 }, (_, i) => (i === 3 || i === 12 ? `bad ${i}` : `ok ${i}`));
    const { asked, verdicts, peak, held } = await search(blocks, 4, 4);
    expect([...verdicts.entries()].filter(([, v]) => !v.safe).map(([b]) => b)).toEqual(['bad 3', 'bad 12']);
    expect(verdicts.size).toBe(16);
    // 1 + 4 parts of 4 + the two flagged parts' 4 blocks each, alone.
    expect(asked.map((a) => a.length)).toEqual([16, 4, 4, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(peak).toBeLessThanOrEqual(4);
    expect(held).toBe(0);
  });

  it('works on the one slot it has when no other is granted', async () => {
    const blocks = ['ok 0', 'ok 1', 'bad 2', 'ok 3'];
    const { verdicts, peak, held } = await search(blocks, 4, 1);
    expect(verdicts.get('bad 2')?.safe).toBe(false);
    expect(peak).toBe(1);
    expect(held).toBe(0);
  });

  it('stops asking after an error, keeps the verdicts it had, gives every slot back and throws', async () => {
    let held = 1;
    let calls = 0;
    const verdicts: string[] = [];
    await expect(
      runChunkParallel(['bad 0', 'ok 1', 'ok 2', 'ok 3'], {
        ways: 4,
        ask: async (part) => {
          calls++;
          if (calls === 3) throw new Error('endpoint down');
          return { verdict: verdictOf(part), usage: { promptTokens: 1, completionTokens: 1 }, latencyMs: 1 };
        },
        onVerdict: (block) => verdicts.push(block),
        acquire: async () => {
          held++;
          return true;
        },
        release: () => {
          held--;
        },
      }),
    ).rejects.toThrow('endpoint down');
    expect(held).toBe(0);
    expect(verdicts.length).toBeLessThan(4);
  });
});
