/**
 * Chunking and bisection: spend as few requests as possible on page text, and still say exactly which blocks
 * are unsafe.
 *
 * Every request repeats a policy header of a few hundred tokens, so neighbouring text blocks (same tab and frame,
 * in document order) are packed into one chunk up to a token budget. A block larger than the budget is split at
 * sentence, then word, then character boundaries into parts that keep its ref. When a chunk comes back unsafe
 * it is bisected until the offending blocks stand alone; halves that come back safe clear their blocks.
 *
 * Public API:
 * - `DEFAULT_CHUNK_TOKENS` (2000), `DEFAULT_HEADER_TOKENS` (300), `DEFAULT_OUTPUT_TOKENS` (20),
 *   `ESTIMATE_MARGIN` (1.25: the token estimate may be that far off).
 * - `chunkBudget({ requested?, contextWindow?, headerTokens?, outputTokens? }): number` — the budget for one
 *   chunk's text: `requested`, capped to what the context window leaves after header and output, divided by the
 *   estimate margin.
 * - `splitText(text, maxTokens): string[]` — parts of at most `maxTokens` (estimated), cut at sentence, word,
 *   then character boundaries; joining them with spaces gives the normalized text back.
 * - `packBlocks(blocks, budget): B[][]` — greedy packing of consecutive blocks (`{ tokens }`) into chunks.
 * - `BLOCK_SEPARATOR`, `SEPARATOR_TOKENS` — how blocks are joined in one request, and what that costs.
 * - Bisection planner (pure, JSON-serializable): `startBisect(n)`, `nextRange(plan)`, `recordRange(plan, range,
 *   verdict)` → indices resolved by that answer.
 * - Driver: `runChunk(blocks, { ask, onResponse?, onVerdict }): Promise<{ requests }>` — asks `ask` for each range
 *   the planner wants and reports every block's verdict as soon as it is known (a failure part-way keeps the
 *   verdicts already reported; the error propagates).
 *
 * Cost of bisection: a safe chunk costs one request. For k offending blocks among n, at most 2·k·⌈log2 n⌉ more:
 * when the left half of an unsafe range comes back clean, the right half must hold the offence, so it is split
 * without being asked (unless it is a single block: a block is never flagged without having been checked alone).
 * If the model found a range unsafe only in combination, its blocks all end up cleared, each by a check of its
 * own or of a safe half — no block is flagged for what it did not say.
 */
import type { Verdict } from '../guard/types';
import { estimateTokens } from './tokens';
import { type ClassifyResult, EngineError } from './types';

export const DEFAULT_CHUNK_TOKENS = 2000;
export const DEFAULT_HEADER_TOKENS = 300;
export const DEFAULT_OUTPUT_TOKENS = 20;
export const ESTIMATE_MARGIN = 1.25;
/** Smallest budget that still makes sense. */
export const MIN_CHUNK_TOKENS = 16;

export const BLOCK_SEPARATOR = '\n\n';
export const SEPARATOR_TOKENS = 1;

export interface BudgetOptions {
  requested?: number;
  contextWindow?: number;
  headerTokens?: number;
  outputTokens?: number;
}

export function chunkBudget(opts: BudgetOptions = {}): number {
  const requested = opts.requested ?? DEFAULT_CHUNK_TOKENS;
  if (!Number.isFinite(requested) || requested < MIN_CHUNK_TOKENS) {
    throw new EngineError('invalid-input', `A chunk budget must be at least ${MIN_CHUNK_TOKENS} tokens.`);
  }
  let budget = Math.floor(requested);
  if (opts.contextWindow !== undefined) {
    const header = opts.headerTokens ?? DEFAULT_HEADER_TOKENS;
    const output = opts.outputTokens ?? DEFAULT_OUTPUT_TOKENS;
    const cap = Math.floor((opts.contextWindow - header - output) / ESTIMATE_MARGIN);
    if (!Number.isFinite(cap) || cap < MIN_CHUNK_TOKENS) {
      throw new EngineError(
        'invalid-input',
        `A context window of ${opts.contextWindow} tokens leaves no room for text.`,
      );
    }
    budget = Math.min(budget, cap);
  }
  return budget;
}

// ---------------------------------------------------------------------------------------------------------------
// Splitting one oversized block

/** End of a sentence: terminal punctuation (and closing quotes/brackets) then whitespace, or CJK terminators. */
const SENTENCE_END = /[.!?…]+["'”’)\]]*\s+|[。！？]+["'”’）」』]*\s*/gu;
const WORD = /\S+\s*/gu;

/** Cuts `text` after every match of `re`; the pieces concatenate back to `text`. */
function cutAt(text: string, re: RegExp): string[] {
  const out: string[] = [];
  let start = 0;
  for (const m of text.matchAll(re)) {
    const end = m.index + m[0].length;
    if (end > start) out.push(text.slice(start, end));
    start = end;
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

/** Longest prefix of `cps` (code points) whose estimate fits. At least one code point. */
function fitPrefix(cps: string[], from: number, maxTokens: number): number {
  let lo = from + 1;
  let hi = cps.length;
  if (estimateTokens(cps.slice(from, hi).join('')) <= maxTokens) return hi;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (estimateTokens(cps.slice(from, mid).join('')) <= maxTokens) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function hardSplit(piece: string, maxTokens: number): string[] {
  const cps = Array.from(piece);
  const out: string[] = [];
  for (let at = 0; at < cps.length; ) {
    const end = fitPrefix(cps, at, maxTokens);
    out.push(cps.slice(at, end).join(''));
    at = end;
  }
  return out;
}

/** Greedy packing of pieces into strings under `maxTokens`; pieces too large go down a level. */
function packPieces(pieces: string[], maxTokens: number, level: 0 | 1 | 2): string[] {
  const out: string[] = [];
  let cur = '';
  let curTokens = 0;
  const flush = () => {
    const t = cur.trim();
    if (t) out.push(t);
    cur = '';
    curTokens = 0;
  };
  for (const piece of pieces) {
    const t = estimateTokens(piece);
    if (t > maxTokens) {
      flush();
      if (level === 0) out.push(...packPieces(cutAt(piece, WORD), maxTokens, 1));
      else out.push(...hardSplit(piece.trim(), maxTokens));
      continue;
    }
    if (cur && curTokens + t > maxTokens) flush();
    cur += piece;
    curTokens += t;
  }
  flush();
  // The estimate is not exactly additive: re-check each part, and cut again the rare one that came out long.
  return out.flatMap((part) =>
    estimateTokens(part) <= maxTokens
      ? [part]
      : level === 2
        ? hardSplit(part, maxTokens)
        : packPieces(cutAt(part, WORD), maxTokens, 2),
  );
}

export function splitText(text: string, maxTokens: number): string[] {
  if (!Number.isFinite(maxTokens) || maxTokens < 1) {
    throw new EngineError('invalid-input', 'splitText needs a positive token budget.');
  }
  const trimmed = text.trim();
  if (!trimmed) return [];
  if (estimateTokens(trimmed) <= maxTokens) return [trimmed];
  return packPieces(cutAt(trimmed, SENTENCE_END), maxTokens, 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Packing blocks into chunks

export function packBlocks<B extends { tokens: number }>(blocks: readonly B[], budget: number): B[][] {
  const chunks: B[][] = [];
  let cur: B[] = [];
  let used = 0;
  for (const block of blocks) {
    const cost = block.tokens + (cur.length > 0 ? SEPARATOR_TOKENS : 0);
    if (cur.length > 0 && used + cost > budget) {
      chunks.push(cur);
      cur = [];
      used = 0;
    }
    used += cur.length > 0 ? block.tokens + SEPARATOR_TOKENS : block.tokens;
    cur.push(block);
  }
  if (cur.length > 0) chunks.push(cur);
  return chunks;
}

// ---------------------------------------------------------------------------------------------------------------
// Bisection planner

/** A half-open range of block indices. */
export interface Range {
  lo: number;
  hi: number;
}

/**
 * A pending range: `check` must be asked; `right` is the right half of a split range whose left half is
 * `[leftLo, lo)` — it is asked, or split unasked if the left half flagged nothing.
 */
type PlanNode =
  | { type: 'check'; lo: number; hi: number }
  | { type: 'right'; lo: number; hi: number; leftLo: number };

export interface BisectPlan {
  n: number;
  /** Verdict per block, `null` while unknown. */
  verdicts: (Verdict | null)[];
  /** Ranges still to settle; the last is next. */
  stack: PlanNode[];
  /** The range asked and not yet recorded. */
  asked: Range | null;
}

export function startBisect(n: number): BisectPlan {
  if (!Number.isInteger(n) || n < 1)
    throw new EngineError('invalid-input', 'A chunk needs at least one block.');
  return {
    n,
    verdicts: Array.from({ length: n }, () => null),
    stack: [{ type: 'check', lo: 0, hi: n }],
    asked: null,
  };
}

function pushSplit(plan: BisectPlan, lo: number, hi: number): void {
  const mid = lo + Math.ceil((hi - lo) / 2);
  plan.stack.push({ type: 'right', lo: mid, hi, leftLo: lo });
  plan.stack.push({ type: 'check', lo, hi: mid });
}

/** The next range to ask about, or `null` when every block has its verdict. */
export function nextRange(plan: BisectPlan): Range | null {
  if (plan.asked) throw new EngineError('invalid-state', 'Record the answer for the range asked first.');
  for (;;) {
    const node = plan.stack.pop();
    if (!node) return null;
    if (node.type === 'right') {
      const leftFlagged = plan.verdicts.slice(node.leftLo, node.lo).some((v) => v && !v.safe);
      if (!leftFlagged && node.hi - node.lo > 1) {
        // The parent was unsafe and its left half is clean: the offence is on the right. Split it unasked.
        pushSplit(plan, node.lo, node.hi);
        continue;
      }
    }
    plan.asked = { lo: node.lo, hi: node.hi };
    return plan.asked;
  }
}

/** Records the answer for the range last returned by `nextRange`; returns the indices it settled. */
export function recordRange(plan: BisectPlan, range: Range, verdict: Verdict): number[] {
  if (!plan.asked || plan.asked.lo !== range.lo || plan.asked.hi !== range.hi) {
    throw new EngineError('invalid-state', 'recordRange got an answer for a range that was not asked.');
  }
  plan.asked = null;
  const settled: number[] = [];
  if (verdict.safe || range.hi - range.lo === 1) {
    for (let i = range.lo; i < range.hi; i++) {
      plan.verdicts[i] = verdict.safe
        ? { safe: true, categories: [], unknownCategories: [] }
        : {
            safe: false,
            categories: [...verdict.categories],
            unknownCategories: [...verdict.unknownCategories],
          };
      settled.push(i);
    }
    return settled;
  }
  pushSplit(plan, range.lo, range.hi);
  return settled;
}

// ---------------------------------------------------------------------------------------------------------------
// Driver

export interface ChunkDriver<B> {
  /** One real request for these blocks (in order). */
  ask(blocks: B[]): Promise<ClassifyResult>;
  /** Called once for every answer, before the verdicts it settles. */
  onResponse?(result: ClassifyResult, blocks: B[]): void;
  /** Called once per block, as soon as its verdict is known. */
  onVerdict(block: B, verdict: Verdict): void;
}

export async function runChunk<B>(
  blocks: readonly B[],
  driver: ChunkDriver<B>,
): Promise<{ requests: number }> {
  const plan = startBisect(blocks.length);
  let requests = 0;
  for (let range = nextRange(plan); range; range = nextRange(plan)) {
    const slice = blocks.slice(range.lo, range.hi);
    const result = await driver.ask(slice);
    requests++;
    driver.onResponse?.(result, slice);
    for (const i of recordRange(plan, range, result.verdict)) driver.onVerdict(blocks[i]!, plan.verdicts[i]!);
  }
  return { requests };
}

// ---------------------------------------------------------------------------------------------------------------
// Parallel k-ary search

/** `[lo, hi)` cut into `min(k, hi − lo)` consecutive ranges whose sizes differ by at most one. */
export function splitWays(range: Range, k: number): Range[] {
  const n = range.hi - range.lo;
  const ways = Math.max(1, Math.min(Math.floor(k), n));
  const out: Range[] = [];
  let lo = range.lo;
  for (let i = 0; i < ways; i++) {
    const size = Math.floor(n / ways) + (i < n % ways ? 1 : 0);
    out.push({ lo, hi: lo + size });
    lo += size;
  }
  return out;
}

export interface ParallelChunkDriver<B> extends ChunkDriver<B> {
  /** Parts an unsafe range is cut into at once (at least 2). */
  ways: number;
  /**
   * Another request slot beside the one the chunk runs on: resolves `true` once granted (the caller then owns
   * it until it calls `release`), `false` when `signal` aborts first.
   */
  acquire(signal: AbortSignal): Promise<boolean>;
  /** Gives back one slot: each granted one, and at the end the chunk's own. */
  release(): void;
}

/**
 * Parallel k-ary search: a chunk that comes back unsafe is cut into `ways` parts that are all asked at once, each
 * on a slot of its own (the chunk's own slot, then slots `acquire` grants), and so on down to single blocks.
 * Round trips to an offending block: 1 + ⌈log_ways n⌉ instead of up to 2·⌈log2 n⌉ one after another; the price is
 * that every part of an unsafe range is asked. A block is still never flagged without having been checked alone.
 * Every slot, the chunk's own included, is released by the time the promise settles; on an error the parts under
 * way finish, nothing more is asked, and the first error propagates.
 */
export async function runChunkParallel<B>(
  blocks: readonly B[],
  driver: ParallelChunkDriver<B>,
): Promise<{ requests: number }> {
  if (blocks.length < 1) throw new EngineError('invalid-input', 'A chunk needs at least one block.');
  const ways = Math.max(2, Math.floor(driver.ways));
  const queue: Range[] = [{ lo: 0, hi: blocks.length }];
  const stop = new AbortController();
  let requests = 0;
  let failure: { error: unknown } | undefined;
  let workers = 0;
  let wanted = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });

  const settle = (range: Range, verdict: Verdict) => {
    for (let i = range.lo; i < range.hi; i++) {
      driver.onVerdict(
        blocks[i]!,
        verdict.safe
          ? { safe: true, categories: [], unknownCategories: [] }
          : {
              safe: false,
              categories: [...verdict.categories],
              unknownCategories: [...verdict.unknownCategories],
            },
      );
    }
  };

  /** One slot's loop: asks ranges until there are none left (or something failed), then gives the slot back. */
  const work = async () => {
    workers++;
    try {
      for (let range = queue.shift(); range && !failure; range = queue.shift()) {
        const slice = blocks.slice(range.lo, range.hi);
        let result: ClassifyResult;
        try {
          result = await driver.ask(slice);
        } catch (error) {
          failure ??= { error };
          break;
        }
        requests++;
        driver.onResponse?.(result, slice);
        if (result.verdict.safe || range.hi - range.lo === 1) {
          settle(range, result.verdict);
          continue;
        }
        const parts = splitWays(range, ways);
        queue.push(...parts);
        // This slot takes the first part; the others want slots of their own, asked for now.
        for (let i = 1; i < parts.length; i++) void more();
      }
    } finally {
      workers--;
      driver.release();
      if (workers === 0) {
        // Nothing is under way, so nothing more can be queued: slots still asked for are not wanted.
        stop.abort();
        if (wanted === 0) done();
      }
    }
  };

  /** Asks for one more slot; a grant that comes when nothing is left to ask is given back at once. */
  const more = async () => {
    wanted++;
    const granted = await driver.acquire(stop.signal).catch(() => false);
    wanted--;
    if (granted && queue.length > 0 && !failure && !stop.signal.aborted) {
      void work();
      return;
    }
    if (granted) driver.release();
    if (workers === 0 && wanted === 0) done();
  };

  void work();
  await finished;
  if (failure) throw failure.error;
  return { requests };
}
