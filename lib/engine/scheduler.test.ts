import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConversationTurn, Verdict } from '../guard/types';
import { MemoryVerdictStore, VerdictCache } from './cache';
import {
  type EngineOptions,
  MIN_VIEWPORT_CHUNK_TOKENS,
  ScanEngine,
  STATE_WRITE_INTERVAL_MS,
} from './scheduler';
import { estimateTokens } from './tokens';
import {
  type Classify,
  type ClassifyResult,
  EngineError,
  type ItemInput,
  MemoryStateStore,
  type NotCheckedReason,
  notCheckedReasons,
  type StateStore,
  type TabState,
  uncheckedChars,
  type WorkItem,
} from './types';

const FP = 'llama-guard-4-12b chat';
const COST = 0.001;
const URL_A = 'https://news.example/a';

/** A model that flags any text containing `BAD:<code>`. */
function verdictOf(text: string): Verdict {
  const codes = [...new Set([...text.matchAll(/BAD:(S\d+)/g)].map((m) => m[1]!))];
  return { safe: codes.length === 0, categories: codes, unknownCategories: [] };
}

const guardError = (kind: string, retryable: boolean, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${kind} failure`), { name: 'GuardError', kind, retryable, ...extra });

/** A scriptable endpoint: records every request, can hold answers back or fail. */
function endpoint() {
  const calls: string[] = [];
  const failures: unknown[] = [];
  const held: Array<() => void> = [];
  let holding = false;
  let hangFrom = Number.POSITIVE_INFINITY;
  const classify = vi.fn<Classify>(async (turns: ConversationTurn[], signal?: AbortSignal) => {
    const text = turns.map((t) => t.text).join('\n');
    const n = calls.push(text);
    if (holding || n >= hangFrom) {
      await new Promise<void>((resolve, reject) => {
        if (n < hangFrom) held.push(resolve);
        signal?.addEventListener('abort', () => reject(guardError('timeout', false, { cancelled: true })));
      });
    }
    const failure = failures.shift();
    if (failure) throw failure;
    const result: ClassifyResult = {
      verdict: verdictOf(text),
      usage: { promptTokens: 100, completionTokens: 2 },
      costUsd: COST,
      latencyMs: 5,
    };
    return result;
  });
  return {
    classify,
    calls,
    failures,
    hold() {
      holding = true;
    },
    /** Lets the held requests answer, and those after them too. */
    release() {
      holding = false;
      for (const r of held.splice(0)) r();
    },
    /** Lets one held request answer; later ones stay held. */
    releaseOne() {
      held.shift()?.();
    },
    /** Request number n and later never answer (a background that is about to be stopped). */
    hangFrom(n: number) {
      hangFrom = n;
    },
  };
}

const drain = async (rounds = 12) => {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
};

interface Harness {
  engine: ScanEngine;
  ep: ReturnType<typeof endpoint>;
  verdicts: Array<{ item: WorkItem; verdict: Verdict }>;
  tabStates: Map<number, TabState | null>;
  stateStore: StateStore;
  verdictStore: MemoryVerdictStore;
}

function harness(
  opts: Partial<EngineOptions> & { stateStore?: StateStore; verdictStore?: MemoryVerdictStore } = {},
) {
  const ep = endpoint();
  const stateStore = opts.stateStore ?? new MemoryStateStore();
  const verdictStore = opts.verdictStore ?? new MemoryVerdictStore();
  const engine = new ScanEngine({
    classify: ep.classify,
    fingerprint: FP,
    cache: new VerdictCache(verdictStore),
    stateStore,
    ...opts,
  });
  const h: Harness = { engine, ep, verdicts: [], tabStates: new Map(), stateStore, verdictStore };
  engine.onVerdict((item, verdict) => h.verdicts.push({ item, verdict }));
  engine.onTabState((tabId, state) => h.tabStates.set(tabId, state));
  return h;
}

/** Paragraphs of one size (in estimated tokens), flagged or not. */
const para = (i: number, bad?: string) =>
  `Paragraph ${i} talks about gardens and the weather today. ${bad ? `BAD:${bad}` : 'NOT:S0'}`;

function blocks(n: number, bad: Record<number, string> = {}, priority: 'viewport' | 'page' = 'page') {
  return Array.from({ length: n }, (_, i) => ({ ref: `r${i}`, text: para(i, bad[i]), priority }));
}

/** A budget that packs exactly `perChunk` of the blocks above. */
function budgetFor(perChunk: number): number {
  const size = estimateTokens(para(0));
  if (estimateTokens(para(15, 'S10')) !== size) throw new Error('test paragraphs differ in size');
  return perChunk * size + (perChunk - 1);
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: new Date(2026, 0, 15, 10, 0, 0) });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('ScanEngine: chunks, bisection and tab state', () => {
  it('packs a page into chunks and flags exactly the offending blocks', async () => {
    const h = harness({ chunkTokens: budgetFor(16) });
    await h.engine.restore();
    const res = await h.engine.submitBlocks(1, 0, URL_A, blocks(16, { 3: 'S1', 12: 'S10' }));
    expect(res).toEqual({ queued: 16, cached: 0, merged: 0, skipped: 0 });
    await drain();

    expect(h.verdicts).toHaveLength(16);
    expect(new Set(h.verdicts.map((v) => v.item.ref)).size).toBe(16);
    const flagged = h.verdicts.filter((v) => !v.verdict.safe).map((v) => v.item.ref);
    expect(flagged.sort()).toEqual(['r12', 'r3']);
    expect(h.ep.calls).toHaveLength(1 + 12);
    expect(h.ep.calls[0]).toContain(para(0));
    expect(h.ep.calls[0]).toContain(para(15));

    const state = h.tabStates.get(1)!;
    expect(state).toMatchObject({ url: URL_A, scanned: 16, pending: 0, errors: 0 });
    expect(state.flagged).toEqual([
      { frameId: 0, ref: 'r3', kind: 'text', categories: ['S1'], snippet: para(3, 'S1') },
      { frameId: 0, ref: 'r12', kind: 'text', categories: ['S10'], snippet: para(12, 'S10') },
    ]);
    expect(state.categoryCounts).toEqual({ S1: 1, S10: 1 });
    expect(state.tokens).toBe(13 * 102);
    expect(state.costUsd).toBeCloseTo(13 * COST);
    expect(h.engine.status().today).toMatchObject({ requests: 13, promptTokens: 1300, completionTokens: 26 });
  });

  it('keeps elements of different frames apart, though their refs are the same', async () => {
    const h = harness({ chunkTokens: budgetFor(4) });
    await h.engine.submitBlocks(1, 0, URL_A, [{ ref: 'b1', text: 'Top frame BAD:S1', priority: 'page' }]);
    await h.engine.submitBlocks(1, 3, URL_A, [{ ref: 'b1', text: 'Inner frame BAD:S2', priority: 'page' }]);
    await h.engine.submitBlocks(1, 3, URL_A, [{ ref: 'b2', text: 'Top frame BAD:S1', priority: 'page' }]);
    await drain();
    const state = h.engine.tabState(1)!;
    expect(state.scanned).toBe(3);
    expect(state.flagged).toEqual([
      { frameId: 0, ref: 'b1', kind: 'text', categories: ['S1'], snippet: 'Top frame BAD:S1' },
      { frameId: 3, ref: 'b1', kind: 'text', categories: ['S2'], snippet: 'Inner frame BAD:S2' },
      { frameId: 3, ref: 'b2', kind: 'text', categories: ['S1'], snippet: 'Top frame BAD:S1' },
    ]);
    expect(state.categoryCounts).toEqual({ S1: 2, S2: 1 });
    expect(h.verdicts.map((v) => [v.item.frameId, v.item.ref])).toEqual([
      [0, 'b1'],
      [3, 'b1'],
      [3, 'b2'],
    ]);
  });

  it('costs one request per chunk for a safe page', async () => {
    const h = harness({ chunkTokens: budgetFor(4) });
    await h.engine.submitBlocks(1, 0, URL_A, blocks(16));
    await drain();
    expect(h.ep.calls).toHaveLength(4);
    expect(h.verdicts.every((v) => v.verdict.safe)).toBe(true);
  });

  it('splits an oversized block into parts that share its ref', async () => {
    const h = harness({ chunkTokens: 40 });
    const long = Array.from({ length: 12 }, (_, i) => para(i, i === 7 ? 'S2' : undefined)).join(' ');
    const res = await h.engine.submitBlocks(1, 0, URL_A, [{ ref: 'big', text: long, priority: 'viewport' }]);
    expect(res.queued).toBeGreaterThan(3);
    await drain();
    expect(h.verdicts.every((v) => v.item.ref === 'big')).toBe(true);
    expect(h.verdicts.filter((v) => !v.verdict.safe)).toHaveLength(1);
    const state = h.engine.tabState(1)!;
    expect(state.flagged).toHaveLength(1);
    expect(state.flagged[0]).toMatchObject({ ref: 'big', categories: ['S2'] });
    expect(state.scanned).toBe(res.queued);
  });

  it('skips empty blocks and refuses bad input with typed errors', async () => {
    const h = harness();
    expect(await h.engine.submitBlocks(1, 0, URL_A, [{ ref: 'e', text: '  \n ', priority: 'page' }])).toEqual(
      {
        queued: 0,
        cached: 0,
        merged: 0,
        skipped: 1,
      },
    );
    const bad = [
      h.engine.submitBlocks(1, 0, URL_A, [{ ref: '', text: 'x', priority: 'page' }]),
      h.engine.submitBlocks(1.5, 0, URL_A, [{ ref: 'a', text: 'x', priority: 'page' }]),
      h.engine.submitBlocks(1, 0, URL_A, [{ ref: 'a', text: 'x', priority: 'soon' as 'page' }]),
      h.engine.submit([
        { kind: 'image', tabId: 1, frameId: 0, url: URL_A, ref: 'i', text: '', priority: 'image' },
      ]),
      h.engine.checkPrompt({ tabId: 1, url: URL_A, text: '   ' }),
    ];
    for (const p of bad)
      await expect(p).rejects.toMatchObject({ name: 'EngineError', kind: 'invalid-input' });
    const textOnly = harness({ maxImages: 0 });
    await expect(
      textOnly.engine.submit([
        {
          kind: 'image',
          tabId: 1,
          frameId: 0,
          url: URL_A,
          ref: 'i',
          text: '',
          imageUrl: 'https://i/x.png',
          priority: 'image',
        },
      ]),
    ).rejects.toThrow(/does not take images/);
    expect(h.ep.calls).toHaveLength(0);
  });
});

describe('ScanEngine: replies and images', () => {
  it('checks a reply with its prompt, and an image with its alt text, one request each', async () => {
    const h = harness();
    const seen: ConversationTurn[][] = [];
    const inner = h.ep.classify.getMockImplementation()!;
    h.ep.classify.mockImplementation(async (turns, signal) => {
      seen.push(turns);
      return inner(turns, signal);
    });
    const reply = await h.engine.check({
      kind: 'reply',
      tabId: 4,
      frameId: 0,
      url: URL_A,
      ref: 'reply-1',
      text: 'Sure, here is how BAD:S9',
      context: 'How do I do it?',
      priority: 'prompt',
    });
    expect(reply).toEqual({ safe: false, categories: ['S9'], unknownCategories: [] });
    await h.engine.submit([
      {
        kind: 'image',
        tabId: 4,
        frameId: 0,
        url: URL_A,
        ref: 'img-1',
        text: 'a cat',
        imageUrl: 'https://a.example/cat.png',
        priority: 'image',
      },
    ]);
    await drain();
    expect(seen).toEqual([
      [
        { role: 'user', text: 'How do I do it?' },
        { role: 'assistant', text: 'Sure, here is how BAD:S9' },
      ],
      [{ role: 'user', text: 'a cat', images: ['https://a.example/cat.png'] }],
    ]);
    expect(h.engine.tabState(4)!.flagged).toEqual([
      { frameId: 0, ref: 'reply-1', kind: 'reply', categories: ['S9'], snippet: 'Sure, here is how BAD:S9' },
    ]);
  });
});

describe('ScanEngine: never the same content twice', () => {
  it('answers from the cache, on another page and after a reload', async () => {
    const h = harness({ chunkTokens: budgetFor(8) });
    await h.engine.restore();
    await h.engine.submitBlocks(1, 0, URL_A, blocks(8, { 2: 'S5' }));
    await drain();
    const sent = h.ep.calls.length;

    const other = await h.engine.submitBlocks(2, 0, 'https://other.example/', blocks(8, { 2: 'S5' }));
    expect(other).toEqual({ queued: 0, cached: 8, merged: 0, skipped: 0 });
    h.engine.navigated(1, URL_A); // a reload
    const reload = await h.engine.submitBlocks(1, 0, URL_A, blocks(8, { 2: 'S5' }));
    expect(reload.cached).toBe(8);
    await drain();
    expect(h.ep.calls).toHaveLength(sent);
    expect(h.engine.tabState(2)).toMatchObject({ scanned: 8, tokens: 0, costUsd: 0 });
    expect(h.engine.tabState(2)!.flagged.map((f) => f.ref)).toEqual(['r2']);
    expect(h.engine.tabState(1)).toMatchObject({ scanned: 8, tokens: 0 });

    // A fresh engine over the same IndexedDB-like store (a browser restart) still sends nothing.
    const again = harness({ verdictStore: h.verdictStore, chunkTokens: budgetFor(8) });
    await again.engine.restore();
    expect((await again.engine.submitBlocks(5, 0, URL_A, blocks(8, { 2: 'S5' }))).cached).toBe(8);
    expect(again.ep.calls).toHaveLength(0);
  });

  it('merges identical items in flight: one request, every waiter gets the verdict', async () => {
    const h = harness({ chunkTokens: budgetFor(4) });
    h.ep.hold();
    await h.engine.submitBlocks(1, 0, URL_A, blocks(4, { 1: 'S1' }));
    await drain();
    expect(h.ep.calls).toHaveLength(1);
    const merged = await h.engine.submitBlocks(2, 0, 'https://b.example/', blocks(4, { 1: 'S1' }));
    expect(merged).toEqual({ queued: 0, cached: 0, merged: 4, skipped: 0 });
    // The same tab resubmitting its blocks adds nothing either.
    expect((await h.engine.submitBlocks(1, 0, URL_A, blocks(4, { 1: 'S1' }))).merged).toBe(4);
    h.ep.release();
    await drain();
    expect(h.ep.calls).toHaveLength(1 + 4); // the chunk, then its bisection
    expect(h.verdicts.filter((v) => v.item.tabId === 1)).toHaveLength(4);
    expect(h.verdicts.filter((v) => v.item.tabId === 2)).toHaveLength(4);
    expect(h.engine.tabState(2)!.flagged.map((f) => f.ref)).toEqual(['r1']);
    expect(h.engine.tabState(1)!.scanned).toBe(4);
  });

  it('resolves identical concurrent prompt checks with one request', async () => {
    const h = harness();
    h.ep.hold();
    const a = h.engine.checkPrompt({ tabId: 1, url: URL_A, text: 'how do I BAD:S2 things' });
    const b = h.engine.checkPrompt({ tabId: 2, url: URL_A, text: 'how do I  BAD:S2 things' });
    await vi.waitFor(() => expect(h.engine.status().inFlight).toBe(2));
    h.ep.release();
    expect(await a).toEqual({ safe: false, categories: ['S2'], unknownCategories: [] });
    expect(await b).toEqual(await a);
    expect(h.ep.calls).toHaveLength(1);
    expect(await h.engine.checkPrompt({ tabId: 3, url: URL_A, text: 'how do I BAD:S2 things' })).toEqual(
      await a,
    );
    expect(h.ep.calls).toHaveLength(1);
  });
});

describe('ScanEngine: scheduling', () => {
  it('goes prompt > viewport > page > image, first in first out within a level', async () => {
    const h = harness({ concurrency: 1, chunkTokens: budgetFor(1) });
    h.ep.hold();
    await h.engine.submitBlocks(9, 0, URL_A, [{ ref: 'first', text: 'first in line', priority: 'page' }]);
    await drain();
    const items: ItemInput[] = [
      { kind: 'text', tabId: 1, frameId: 0, url: URL_A, ref: 'p1', text: 'page one', priority: 'page' },
      {
        kind: 'image',
        tabId: 1,
        frameId: 0,
        url: URL_A,
        ref: 'i1',
        text: 'image one',
        imageUrl: 'https://a.example/1.png',
        priority: 'image',
      },
      {
        kind: 'text',
        tabId: 1,
        frameId: 0,
        url: URL_A,
        ref: 'v1',
        text: 'viewport one',
        priority: 'viewport',
      },
      // Other tabs, so these are not packed with the ones above.
      { kind: 'text', tabId: 2, frameId: 0, url: URL_A, ref: 'p2', text: 'page two', priority: 'page' },
      {
        kind: 'text',
        tabId: 3,
        frameId: 0,
        url: URL_A,
        ref: 'v2',
        text: 'viewport two',
        priority: 'viewport',
      },
    ];
    await h.engine.submit(items);
    const prompt = h.engine.checkPrompt({ tabId: 1, url: URL_A, text: 'prompt one' });
    // The prompt does not wait for the slot 'first in line' holds: it goes at once, beside it.
    await vi.waitFor(() => expect(h.engine.status()).toMatchObject({ pending: 5, inFlight: 2 }));
    for (let i = 0; i < 7; i++) {
      h.ep.releaseOne();
      await drain();
    }
    await prompt;
    expect(h.ep.calls).toEqual([
      'first in line',
      'prompt one',
      'viewport one',
      'viewport two',
      'page one',
      'page two',
      'image one',
    ]);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    const h = harness({ concurrency: 2, chunkTokens: budgetFor(1) });
    h.ep.hold();
    await h.engine.submitBlocks(1, 0, URL_A, blocks(6));
    await drain();
    expect(h.ep.calls).toHaveLength(2);
    expect(h.engine.status()).toMatchObject({ pending: 4, inFlight: 2 });
    h.ep.release();
    await drain();
    expect(h.ep.calls).toHaveLength(6);
  });

  it('never makes a prompt wait for page work: one request beyond the limit is kept for it, and only one', async () => {
    const h = harness({ concurrency: 2, chunkTokens: budgetFor(1) });
    h.ep.hold();
    await h.engine.submitBlocks(1, 0, URL_A, blocks(6));
    // Keys are hashed off the thread: under load a fixed number of turns of the event loop may not be enough.
    await vi.waitFor(() => expect(h.engine.status()).toMatchObject({ pending: 4, inFlight: 2 }));
    const first = h.engine.checkPrompt({ tabId: 2, url: URL_A, text: 'first prompt' });
    // The second is asked once the first is under way: two prompts asked in the same turn are keyed in parallel,
    // and under load the second's key can be ready first.
    await vi.waitFor(() => expect(h.ep.calls).toHaveLength(3));
    const second = h.engine.checkPrompt({ tabId: 3, url: URL_A, text: 'second prompt' });
    await vi.waitFor(() => expect(h.engine.status()).toMatchObject({ pending: 5, inFlight: 3 }));
    // The first prompt went at once, beside the two page chunks; the second waits, ahead of the page blocks.
    expect(h.ep.calls).toHaveLength(3);
    expect(h.ep.calls[2]).toBe('first prompt');
    expect(h.engine.status()).toMatchObject({ pending: 5, inFlight: 3 });
    // A page chunk answers: with the prompt in flight the limit is reached again, so nothing else starts.
    h.ep.releaseOne();
    await drain();
    expect(h.engine.status()).toMatchObject({ pending: 5, inFlight: 2 });
    // The next free slot goes to the waiting prompt, not to the page.
    h.ep.releaseOne();
    await drain();
    expect(h.ep.calls[3]).toBe('second prompt');
    h.ep.release();
    await Promise.all([first, second]);
    await drain();
    // Page work alone never goes beyond the limit.
    expect(h.ep.calls).toHaveLength(8);
    expect(h.engine.status()).toMatchObject({ pending: 0, inFlight: 0 });
  });

  it('drops the queued items of a closed tab, and lets a request in flight finish into the cache', async () => {
    const h = harness({ concurrency: 1, chunkTokens: budgetFor(2) });
    h.ep.hold();
    await h.engine.submitBlocks(1, 0, URL_A, blocks(6));
    await drain();
    expect(h.ep.calls).toHaveLength(1);
    h.engine.dropTab(1);
    await drain();
    expect(h.tabStates.get(1)).toBeNull();
    expect(h.engine.tabState(1)).toBeUndefined();
    h.ep.release();
    await drain();
    expect(h.ep.calls).toHaveLength(1);
    expect(h.verdicts).toHaveLength(0);
    expect(h.engine.status().pending).toBe(0);
    // The chunk that was already paid for is cached for a reload.
    expect((await h.engine.submitBlocks(1, 0, URL_A, blocks(2))).cached).toBe(2);
  });

  it('starts a navigated tab afresh and forgets the old page', async () => {
    const h = harness({ concurrency: 1, chunkTokens: budgetFor(2) });
    h.ep.hold();
    await h.engine.submitBlocks(1, 0, URL_A, blocks(6, { 5: 'S1' }));
    await drain();
    h.engine.navigated(1, 'https://news.example/b');
    await drain();
    expect(h.tabStates.get(1)).toMatchObject({ url: 'https://news.example/b', scanned: 0, pending: 0 });
    h.ep.release();
    await drain();
    expect(h.ep.calls).toHaveLength(1);
    expect(h.engine.tabState(1)).toMatchObject({ scanned: 0, tokens: 0, flagged: [] });
    h.ep.hold();
    const check = h.engine.checkPrompt({ tabId: 1, url: 'https://news.example/b', text: 'hello' });
    await drain();
    h.engine.navigated(1, 'https://news.example/c');
    await expect(check).rejects.toMatchObject({ kind: 'dropped' });
  });

  it('keeps how much page text was left unchecked, per frame, through a restart, until the tab navigates', async () => {
    const stateStore = new MemoryStateStore();
    const h = harness({ stateStore });
    await h.engine.restore();
    await h.engine.noteUnchecked(1, 0, URL_A, 5_000);
    await h.engine.noteUnchecked(1, 3, URL_A, 700);
    // A frame reports its page state's total: the same figure again adds nothing.
    await h.engine.noteUnchecked(1, 0, URL_A, 5_000);
    await drain();
    expect(h.tabStates.get(1)?.unchecked).toEqual({ 0: 5_000, 3: 700 });
    expect(uncheckedChars(h.engine.tabState(1))).toBe(5_700);
    await h.engine.flush();
    h.engine.dispose();
    const again = harness({ stateStore });
    await again.engine.restore();
    expect(uncheckedChars(again.engine.tabState(1))).toBe(5_700);
    // A frame that starts afresh with everything sent clears its part.
    await again.engine.noteUnchecked(1, 3, URL_A, 0);
    expect(again.engine.tabState(1)?.unchecked).toEqual({ 0: 5_000 });
    again.engine.navigated(1, 'https://news.example/b');
    expect(again.engine.tabState(1)?.unchecked).toBeUndefined();
    expect(uncheckedChars(again.engine.tabState(1))).toBe(0);
    // A saved count that is not a positive whole number under a frame id is not read.
    await again.engine.noteUnchecked(2, 0, URL_A, 10);
    await again.engine.flush();
    again.engine.dispose();
    const saved = (await stateStore.get('engine')) as { tabs: Record<string, { state: TabState }> };
    saved.tabs['2']!.state.unchecked = { top: 10 };
    await stateStore.set('engine', saved);
    expect((await harness({ stateStore }).engine.restore()).discarded).toMatch(/malformed unchecked/);
    await expect(h.engine.noteUnchecked(1, 0, URL_A, -1)).rejects.toMatchObject({ kind: 'invalid-input' });
    await expect(h.engine.noteUnchecked(1, 0, URL_A, 1.5)).rejects.toMatchObject({ kind: 'invalid-input' });
  });

  it('keeps which frames could not be checked, and why, through a restart, until they run again or the tab navigates', async () => {
    const stateStore = new MemoryStateStore();
    const h = harness({ stateStore });
    await h.engine.restore();
    await h.engine.noteNotChecked(1, 0, URL_A, 'scan-error');
    await h.engine.noteNotChecked(1, 4, URL_A, 'loading');
    await drain();
    expect(h.tabStates.get(1)?.notChecked).toEqual({ 0: 'scan-error', 4: 'loading' });
    expect(notCheckedReasons(h.engine.tabState(1))).toEqual(['scan-error', 'loading']);
    await h.engine.flush();
    h.engine.dispose();
    const again = harness({ stateStore });
    await again.engine.restore();
    expect(notCheckedReasons(again.engine.tabState(1))).toEqual(['scan-error', 'loading']);
    // The frame that was loading finished: only the error is left.
    await again.engine.noteNotChecked(1, 4, URL_A, null);
    expect(again.engine.tabState(1)?.notChecked).toEqual({ 0: 'scan-error' });
    again.engine.navigated(1, 'https://news.example/b');
    expect(again.engine.tabState(1)?.notChecked).toBeUndefined();
    expect(notCheckedReasons(again.engine.tabState(1))).toEqual([]);
    // A saved reason that is not one of ours is not read.
    await again.engine.noteNotChecked(2, 0, URL_A, 'loading');
    await again.engine.flush();
    again.engine.dispose();
    const saved = (await stateStore.get('engine')) as { tabs: Record<string, { state: TabState }> };
    (saved.tabs['2']!.state as { notChecked: unknown }).notChecked = { 0: 'fine' };
    await stateStore.set('engine', saved);
    expect((await harness({ stateStore }).engine.restore()).discarded).toMatch(/malformed not-checked/);
    await expect(
      h.engine.noteNotChecked(1, 0, URL_A, 'fine' as unknown as NotCheckedReason),
    ).rejects.toMatchObject({ kind: 'invalid-input' });
  });
});

describe('ScanEngine: parallel search, viewport first', () => {
  /** A viewport paragraph of about 100 tokens, all of one size, flagged or not. */
  const long = (i: number, bad?: string) =>
    `${para(i, bad)} ${Array.from({ length: 8 }, () => 'The garden path winds past the old stone wall and the pond.').join(' ')}`;
  const viewport = (n: number, bad: Record<number, string> = {}) =>
    Array.from({ length: n }, (_, i) => ({
      ref: `v${i}`,
      text: long(i, bad[i]),
      priority: 'viewport' as const,
    }));
  const blocksIn = (call: string) => call.split('\n\n').length;

  /** Largest number of requests the endpoint had under way at once. */
  function peak(h: Harness): () => number {
    let now = 0;
    let max = 0;
    const inner = h.ep.classify.getMockImplementation()!;
    h.ep.classify.mockImplementation(async (turns, signal) => {
      now++;
      max = Math.max(max, now);
      try {
        return await inner(turns, signal);
      } finally {
        now--;
      }
    });
    return () => max;
  }

  it('asks about the whole viewport in the first round trip, spread over the free slots', async () => {
    expect(estimateTokens(long(0))).toBeGreaterThan(110);
    const h = harness({ concurrency: 4 });
    h.ep.hold();
    await h.engine.submitBlocks(1, 0, URL_A, viewport(8));
    await vi.waitFor(() => expect(h.ep.calls).toHaveLength(4));
    // Four chunks of two blocks each, all under way at once; nothing waits for a second round.
    expect(h.ep.calls.map(blocksIn)).toEqual([2, 2, 2, 2]);
    expect(h.engine.status()).toMatchObject({ pending: 0, inFlight: 8 });
    h.ep.release();
    await vi.waitFor(() => expect(h.verdicts).toHaveLength(8));
    expect(h.ep.calls).toHaveLength(4);

    // The halving strategy packs the viewport into one chunk, like the rest of the page.
    const old = harness({ concurrency: 4, strategy: 'halving' });
    await old.engine.submitBlocks(1, 0, URL_A, viewport(8));
    await vi.waitFor(() => expect(old.verdicts).toHaveLength(8));
    expect(old.ep.calls.map(blocksIn)).toEqual([8]);
  });

  it('does not spread a small viewport: each part keeps enough tokens to be worth its header', async () => {
    const h = harness({ concurrency: 4 });
    await h.engine.submitBlocks(1, 0, URL_A, blocks(6, {}, 'viewport'));
    await vi.waitFor(() => expect(h.verdicts).toHaveLength(6));
    expect(
      estimateTokens(
        blocks(6)
          .map((b) => b.text)
          .join('\n\n'),
      ),
    ).toBeLessThan(2 * MIN_VIEWPORT_CHUNK_TOKENS);
    expect(h.ep.calls.map(blocksIn)).toEqual([6]);
  });

  it('cuts a flagged viewport chunk k ways at once, down to the block checked alone', async () => {
    const h = harness({ concurrency: 4 });
    h.ep.hold();
    await h.engine.submitBlocks(1, 0, URL_A, blocks(8, { 5: 'S9' }, 'viewport'));
    await vi.waitFor(() => expect(h.ep.calls).toHaveLength(1));
    h.ep.release();
    h.ep.hold();
    // Round 2: four parts of two blocks, all asked together.
    await vi.waitFor(() => expect(h.ep.calls).toHaveLength(5));
    expect(h.ep.calls.slice(1).map(blocksIn)).toEqual([2, 2, 2, 2]);
    h.ep.release();
    h.ep.hold();
    // Round 3: the flagged part's two blocks, each alone, together.
    await vi.waitFor(() => expect(h.ep.calls).toHaveLength(7));
    expect(h.ep.calls.slice(5).map(blocksIn)).toEqual([1, 1]);
    h.ep.release();
    await vi.waitFor(() => expect(h.verdicts).toHaveLength(8));
    const flagged = h.verdicts.filter((v) => !v.verdict.safe);
    expect(flagged.map((v) => [v.item.ref, v.verdict.categories])).toEqual([['r5', ['S9']]]);
    expect(h.ep.calls).toContain(para(5, 'S9'));
    // Three round trips where halving needs four, one after another.
    const old = harness({ concurrency: 4, strategy: 'halving' });
    const oldPeak = peak(old);
    await old.engine.submitBlocks(1, 0, URL_A, blocks(8, { 5: 'S9' }, 'viewport'));
    await vi.waitFor(() => expect(old.verdicts).toHaveLength(8));
    expect(oldPeak()).toBe(1);
    expect(old.ep.calls.length).toBeGreaterThanOrEqual(4);
  });

  it('never goes beyond the concurrency limit, and the search goes before page work queued behind it', async () => {
    const h = harness({ concurrency: 3, chunkTokens: budgetFor(9) });
    const max = peak(h);
    h.ep.hold();
    await h.engine.submitBlocks(1, 0, URL_A, [
      ...blocks(9, { 1: 'S1', 7: 'S2' }, 'viewport'),
      ...blocks(27).map((b) => ({ ...b, ref: `p${b.ref}`, text: `Page ${b.text}` })),
    ]);
    // The viewport chunk goes alone: page chunks would hold the slots its search needs next.
    await vi.waitFor(() => expect(h.ep.calls).toHaveLength(1));
    await drain();
    expect(h.ep.calls).toHaveLength(1);
    // It is flagged: its three parts take the three slots at once.
    h.ep.releaseOne();
    await vi.waitFor(() => expect(h.ep.calls).toHaveLength(4));
    expect(h.ep.calls.slice(1).map((c) => c.startsWith('Page'))).toEqual([false, false, false]);
    // A clean part answers: its slot goes to the search's next step, not to the page chunk queued next.
    h.ep.releaseOne();
    await vi.waitFor(() => expect(h.ep.calls).toHaveLength(5));
    expect(h.ep.calls[4]!.startsWith('Page')).toBe(false);
    h.ep.release();
    await vi.waitFor(() => expect(h.verdicts).toHaveLength(36));
    expect(max()).toBeLessThanOrEqual(3);
    expect(h.engine.status()).toMatchObject({ pending: 0, inFlight: 0 });
    expect(
      h.verdicts
        .filter((v) => !v.verdict.safe)
        .map((v) => v.item.ref)
        .sort(),
    ).toEqual(['r1', 'r7']);
  });

  it("sends blocks in view found late with the frame's page text, not in a request of their own", async () => {
    const page = (from: number, n: number) =>
      blocks(n).map((b, i) => ({ ...b, ref: `p${from + i}`, text: `Page ${para(from + i)}` }));
    const h = harness({ concurrency: 4 });
    h.ep.hold();
    // What was in view when the walk went past it, with the page text found so far: three parts, one slot free.
    await h.engine.submitBlocks(1, 0, URL_A, [...viewport(6), ...page(0, 5)]);
    await vi.waitFor(() => expect(h.ep.calls).toHaveLength(3));
    await drain();
    expect(h.ep.calls.map(blocksIn)).toEqual([2, 2, 2]);
    // The rest of the walk: one more block in view (placed out of document order), and more page text.
    const late = { ref: 'late', text: 'Late menu item in view', priority: 'viewport' as const };
    expect(estimateTokens(late.text)).toBeLessThan(MIN_VIEWPORT_CHUNK_TOKENS);
    await h.engine.submitBlocks(1, 0, URL_A, [late, ...page(5, 5)]);
    await vi.waitFor(() => expect(h.ep.calls).toHaveLength(4));
    await drain();
    // It goes at once, in the free slot, and takes all of the frame's page text along.
    expect(h.ep.calls).toHaveLength(4);
    expect(blocksIn(h.ep.calls[3]!)).toBe(1 + 10);
    expect(h.ep.calls[3]!.startsWith(late.text)).toBe(true);
    h.ep.release();
    await vi.waitFor(() => expect(h.verdicts).toHaveLength(6 + 5 + 1 + 5));
    expect(h.ep.calls).toHaveLength(4);

    // Viewport text found late that is worth its header still goes on its own.
    const other = harness({ concurrency: 4 });
    other.ep.hold();
    await other.engine.submitBlocks(1, 0, URL_A, [...viewport(6), ...page(0, 5)]);
    await vi.waitFor(() => expect(other.ep.calls).toHaveLength(3));
    await other.engine.submitBlocks(1, 0, URL_A, [...viewport(8).slice(6), ...page(5, 5)]);
    await vi.waitFor(() => expect(other.ep.calls).toHaveLength(4));
    await drain();
    expect(other.ep.calls).toHaveLength(4);
    expect(blocksIn(other.ep.calls[3]!)).toBe(2);
    other.ep.release();
    await vi.waitFor(() => expect(other.verdicts).toHaveLength(18));

    // When the frame's viewport was already answered, a late block in view still goes with the page text left.
    const answered = harness({ concurrency: 4 });
    answered.ep.hold();
    await answered.engine.submitBlocks(1, 0, URL_A, [...viewport(6), ...page(0, 5)]);
    await vi.waitFor(() => expect(answered.ep.calls).toHaveLength(3));
    answered.ep.release();
    await vi.waitFor(() => expect(answered.verdicts).toHaveLength(11));
    expect(answered.ep.calls).toHaveLength(4);
    await answered.engine.submitBlocks(1, 0, URL_A, [late, ...page(5, 5)]);
    await vi.waitFor(() => expect(answered.verdicts).toHaveLength(17));
    await drain();
    expect(answered.ep.calls).toHaveLength(5);
    expect(blocksIn(answered.ep.calls[4]!)).toBe(1 + 5);
  });

  it('counts tokens and cost once per response of every part, and a reload costs nothing', async () => {
    const h = harness({ concurrency: 4 });
    await h.engine.submitBlocks(1, 0, URL_A, blocks(8, { 2: 'S1' }, 'viewport'));
    await vi.waitFor(() => expect(h.verdicts).toHaveLength(8));
    const calls = h.ep.calls.length;
    expect(calls).toBe(1 + 4 + 2);
    expect(h.engine.status().today).toMatchObject({
      requests: calls,
      promptTokens: 100 * calls,
      completionTokens: 2 * calls,
    });
    expect(h.engine.status().today.costUsd).toBeCloseTo(COST * calls);
    expect(h.engine.tabState(1)).toMatchObject({ tokens: 102 * calls });
    // A reload costs nothing.
    h.engine.navigated(1, URL_A);
    await h.engine.submitBlocks(1, 0, URL_A, blocks(8, { 2: 'S1' }, 'viewport'));
    await vi.waitFor(() => expect(h.verdicts).toHaveLength(16));
    expect(h.ep.calls).toHaveLength(calls);
  });

  it('keeps the verdicts a search has when one of its parts fails, and asks again for the rest', async () => {
    const h = harness({ concurrency: 4 });
    h.ep.hold();
    await h.engine.submitBlocks(1, 0, URL_A, blocks(8, { 6: 'S3' }, 'viewport'));
    await vi.waitFor(() => expect(h.ep.calls).toHaveLength(1));
    h.ep.failures.push(undefined, guardError('server', true));
    h.ep.release();
    await vi.waitFor(() => expect(h.engine.status().inFlight).toBe(0));
    // One part failed: the other three answered, and their blocks have their verdicts.
    expect(h.verdicts.length).toBeGreaterThanOrEqual(2);
    expect(h.engine.status().pending).toBeGreaterThan(0);
    await vi.advanceTimersByTimeAsync(60_000);
    await vi.waitFor(() => expect(h.verdicts).toHaveLength(8));
    expect(new Set(h.verdicts.map((v) => v.item.ref)).size).toBe(8);
    expect(h.verdicts.filter((v) => !v.verdict.safe).map((v) => v.item.ref)).toEqual(['r6']);
    expect(h.engine.status()).toMatchObject({ pending: 0, inFlight: 0 });
  });
});

describe('ScanEngine: money', () => {
  it('pauses page scanning at the daily budget, keeps checking prompts, resumes the next day', async () => {
    const h = harness({ concurrency: 1, chunkTokens: budgetFor(1), dailyBudgetUsd: 0.0025 });
    await h.engine.submitBlocks(1, 0, URL_A, blocks(5));
    await drain();
    expect(h.ep.calls).toHaveLength(3);
    const status = h.engine.status();
    expect(status).toMatchObject({ state: 'budget-paused', pending: 2, budgetUsd: 0.0025 });
    expect(status.until).toBe(new Date(2026, 0, 16).getTime());
    expect(status.today.costUsd).toBeCloseTo(0.003);

    expect(await h.engine.checkPrompt({ tabId: 1, url: URL_A, text: 'a question' })).toMatchObject({
      safe: true,
    });
    expect(h.ep.calls).toHaveLength(4);

    await vi.advanceTimersByTimeAsync(new Date(2026, 0, 16).getTime() - Date.now());
    await drain();
    expect(h.ep.calls).toHaveLength(6);
    expect(h.engine.status()).toMatchObject({ state: 'ok', pending: 0 });
    expect(h.engine.status().today.requests).toBe(2);
  });

  it('applies the budget to prompts when told to', async () => {
    const h = harness({ dailyBudgetUsd: 0, budgetAppliesToPrompts: true });
    await expect(h.engine.checkPrompt({ tabId: 1, url: URL_A, text: 'a question' })).rejects.toMatchObject({
      kind: 'budget-paused',
    });
    expect(h.ep.calls).toHaveLength(0);
  });

  it('uses the cost estimate when the classifier reports none', async () => {
    const h = harness({ estimateCostUsd: (u) => (u.promptTokens + u.completionTokens) * 1e-6 });
    h.ep.classify.mockImplementationOnce(async () => ({
      verdict: { safe: true, categories: [], unknownCategories: [] },
      usage: { promptTokens: 1000, completionTokens: 2 },
      latencyMs: 1,
    }));
    await h.engine.checkPrompt({ tabId: 1, url: URL_A, text: 'hello' });
    expect(h.engine.status().today.costUsd).toBeCloseTo(0.001002);
  });
});

describe('ScanEngine: failures', () => {
  it('waits until Retry-After, then sends each item once', async () => {
    const h = harness({ chunkTokens: budgetFor(1) });
    const retryAt = Date.now() + 30_000;
    h.ep.failures.push(guardError('rate-limited', true, { status: 429, retryAt }));
    await h.engine.submitBlocks(1, 0, URL_A, blocks(1));
    await drain();
    expect(h.engine.status()).toMatchObject({ state: 'rate-limited', until: retryAt, pending: 1 });
    expect(h.engine.tabState(1)).toMatchObject({ errors: 1, pending: 1 });
    await h.engine.submitBlocks(2, 0, URL_A, [{ ref: 'x', text: 'later block', priority: 'page' }]);
    await vi.advanceTimersByTimeAsync(29_000);
    await drain();
    expect(h.ep.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    await drain();
    expect(h.ep.calls).toHaveLength(3);
    expect(h.verdicts).toHaveLength(2);
    expect(h.engine.status()).toMatchObject({ state: 'ok', pending: 0 });
    expect(h.engine.status().today.requests).toBe(2);
  });

  it('honours a pause the classifier waits out itself: no new chunk and no bisection step before it ends', async () => {
    const h = harness({ concurrency: 2, chunkTokens: budgetFor(4) });
    h.ep.hold();
    await h.engine.submitBlocks(1, 0, URL_A, blocks(12, { 1: 'S1' }));
    await drain();
    expect(h.ep.calls).toHaveLength(2); // chunks r0–r3 and r4–r7 under way
    const until = Date.now() + 2_000;
    h.engine.pauseUntil(until, 'Retry-After: 2 s');
    expect(h.engine.status()).toMatchObject({ state: 'rate-limited', until, reason: 'Retry-After: 2 s' });
    h.ep.release(); // both answer: r0–r3 unsafe (bisect next), r4–r7 safe (chunk r8–r11 next)
    await drain();
    expect(h.ep.calls).toHaveLength(2);
    expect(h.verdicts.map((v) => v.item.ref)).toEqual(['r4', 'r5', 'r6', 'r7']);
    await vi.advanceTimersByTimeAsync(1_999);
    await drain();
    expect(h.ep.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    await drain();
    expect(h.engine.status()).toMatchObject({ state: 'ok', pending: 0, inFlight: 0 });
    expect(h.verdicts.filter((v) => !v.verdict.safe).map((v) => v.item.ref)).toEqual(['r1']);
    expect(new Set(h.verdicts.map((v) => v.item.ref)).size).toBe(12);
    expect(h.verdicts).toHaveLength(12);
  });

  it('extends a pause but never shortens it, ignores one in the past, refuses a time that is not one', async () => {
    const h = harness({ chunkTokens: budgetFor(1) });
    const now = Date.now();
    h.engine.pauseUntil(now + 5_000);
    h.engine.pauseUntil(now + 1_000);
    h.engine.pauseUntil(now - 1_000);
    expect(h.engine.status()).toMatchObject({ state: 'rate-limited', until: now + 5_000 });
    expect(h.engine.status().reason).toMatch(/asked to wait/);
    h.engine.pauseUntil(now + 8_000, 'longer');
    expect(h.engine.status()).toMatchObject({ until: now + 8_000, reason: 'longer' });
    expect(() => h.engine.pauseUntil(Number.NaN)).toThrow(EngineError);
    expect(() => h.engine.pauseUntil('soon' as unknown as number)).toThrow(/epoch ms/);
    await h.engine.submitBlocks(1, 0, URL_A, blocks(1));
    await vi.advanceTimersByTimeAsync(7_999);
    await drain();
    expect(h.ep.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    await drain();
    expect(h.ep.calls).toHaveLength(1);
    // A long pause tells a waiting prompt check at once instead of leaving it hanging.
    h.ep.hold();
    const check = h.engine.checkPrompt({ tabId: 1, url: URL_A, text: 'a question' });
    for (let i = 0; i < 100 && h.ep.calls.length < 2; i++) await drain(); // keyed (hashing takes a while) and sent
    expect(h.ep.calls).toHaveLength(2);
    h.engine.pauseUntil(Date.now() + 60_000);
    await expect(check).rejects.toMatchObject({ kind: 'rate-limited', retryAt: Date.now() + 60_000 });
    h.ep.release();
  });

  it('keeps a pause across a restart', async () => {
    const stateStore = new MemoryStateStore();
    const a = harness({ stateStore, chunkTokens: budgetFor(1) });
    await a.engine.restore();
    const until = Date.now() + 10_000;
    a.engine.pauseUntil(until, 'wait');
    await a.engine.submitBlocks(1, 0, URL_A, blocks(2));
    await a.engine.flush();
    a.engine.dispose();
    const b = harness({ stateStore, chunkTokens: budgetFor(1) });
    await b.engine.restore();
    expect(b.engine.status()).toMatchObject({ state: 'rate-limited', until, reason: 'wait', pending: 2 });
    await vi.advanceTimersByTimeAsync(10_000);
    await drain();
    expect(b.ep.calls).toHaveLength(2);
    expect(a.ep.calls).toHaveLength(0);
  });

  it('makes a waiting prompt check fail at once when the rate limit is long', async () => {
    const h = harness();
    h.ep.failures.push(guardError('rate-limited', true, { retryAt: Date.now() + 120_000 }));
    await expect(h.engine.checkPrompt({ tabId: 1, url: URL_A, text: 'hi' })).rejects.toMatchObject({
      kind: 'rate-limited',
      retryAt: Date.now() + 120_000,
    });
    await expect(h.engine.checkPrompt({ tabId: 1, url: URL_A, text: 'other' })).rejects.toBeInstanceOf(
      EngineError,
    );
  });

  it('waits before sending again the items of a failed request, while the others go on', async () => {
    const h = harness({ concurrency: 1, chunkTokens: budgetFor(1) });
    h.ep.failures.push(guardError('server', true, { status: 503 }));
    await h.engine.submitBlocks(1, 0, URL_A, blocks(3));
    await drain();
    // r0 failed (the classifier had retried it): r1 and r2 go on, r0 waits the breaker's first wait.
    expect(h.ep.calls).toHaveLength(3);
    expect(h.engine.status()).toMatchObject({ state: 'ok', pending: 1 });
    await vi.advanceTimersByTimeAsync(9_999);
    await drain();
    expect(h.ep.calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    await drain();
    expect(h.ep.calls).toHaveLength(4);
    expect(h.engine.status()).toMatchObject({ state: 'ok', pending: 0 });
    expect(h.verdicts.map((v) => v.item.ref).sort()).toEqual(['r0', 'r1', 'r2']);
  });

  it('opens the circuit after consecutive failures, probes once, closes on success', async () => {
    const h = harness({
      concurrency: 1,
      chunkTokens: budgetFor(1),
      breaker: { failureThreshold: 3, baseBackoffMs: 10_000 },
    });
    for (let i = 0; i < 4; i++) h.ep.failures.push(guardError('server', true, { status: 503 }));
    await h.engine.submitBlocks(1, 0, URL_A, blocks(3));
    await drain();
    expect(h.ep.calls).toHaveLength(3);
    let status = h.engine.status();
    expect(status.state).toBe('circuit-open');
    expect(status.reason).toMatch(/3 failed requests in a row, last: server/);
    expect(status.until).toBe(Date.now() + 10_000);
    expect(status.pending).toBe(3);
    await expect(h.engine.checkPrompt({ tabId: 1, url: URL_A, text: 'q' })).rejects.toMatchObject({
      kind: 'circuit-open',
    });

    await vi.advanceTimersByTimeAsync(10_000); // half-open: one probe, which fails
    await drain();
    expect(h.ep.calls).toHaveLength(4);
    status = h.engine.status();
    expect(status.state).toBe('circuit-open');
    expect(status.until).toBe(Date.now() + 20_000); // the backoff grew

    await vi.advanceTimersByTimeAsync(19_999);
    await drain();
    expect(h.ep.calls).toHaveLength(4);
    await vi.advanceTimersByTimeAsync(1);
    await drain();
    expect(h.ep.calls).toHaveLength(7); // the probe succeeded, the rest followed
    expect(h.engine.status()).toMatchObject({ state: 'ok', pending: 0 });
    expect(h.verdicts.map((v) => v.item.ref).sort()).toEqual(['r0', 'r1', 'r2']);
    expect(h.engine.status().today.requests).toBe(3);
    expect(h.engine.tabState(1)!.errors).toBe(4);
  });

  it('opens the circuit at the first refused key or missing model, and starts afresh with new settings', async () => {
    for (const [kind, status] of [
      ['auth', 401],
      ['forbidden', 403],
      ['model-not-found', 404],
    ] as const) {
      const h = harness({ concurrency: 1, chunkTokens: budgetFor(1), breaker: { baseBackoffMs: 10_000 } });
      for (let i = 0; i < 3; i++) h.ep.failures.push(guardError(kind, false, { status }));
      await h.engine.submitBlocks(1, 0, URL_A, blocks(3));
      await drain();
      expect(h.ep.calls, kind).toHaveLength(1);
      expect(h.engine.status()).toMatchObject({ state: 'circuit-open', pending: 3 });
      expect(h.engine.status().reason).toMatch(new RegExp(`1 failed request in a row, last: ${kind}`));
      // Probed now and then, with a growing wait: 10 s, then 20 s.
      await vi.advanceTimersByTimeAsync(10_000);
      await drain();
      expect(h.ep.calls).toHaveLength(2);
      await vi.advanceTimersByTimeAsync(19_999);
      await drain();
      expect(h.ep.calls).toHaveLength(2);
      // The person fixes the settings: a new classifier starts the endpoint afresh, nothing was lost.
      await h.engine.reconfigure({ classify: h.ep.classify });
      await drain();
      expect(h.ep.calls).toHaveLength(3); // the last scripted refusal, then
      h.ep.failures.length = 0;
      await h.engine.reconfigure({ classify: h.ep.classify });
      await drain();
      expect(h.verdicts.map((v) => v.item.ref).sort()).toEqual(['r0', 'r1', 'r2']);
      expect(h.engine.status()).toMatchObject({ state: 'ok', pending: 0 });
      expect(h.engine.status().today.requests).toBe(3);
    }
  });

  it('counts an answer that came back unusable once, as the provider bills it', async () => {
    const h = harness({ concurrency: 1, chunkTokens: budgetFor(1), maxItemAttempts: 1 });
    h.ep.failures.push(
      guardError('bad-output', false, {
        answered: { usage: { promptTokens: 40, completionTokens: 3 }, costUsd: 0.01 },
      }),
      guardError('bad-response', false, { answered: { usage: { promptTokens: 0, completionTokens: 0 } } }),
      guardError('server', true, { status: 500 }),
    );
    await h.engine.submitBlocks(1, 0, URL_A, blocks(3));
    await drain(30);
    for (let i = 0; i < 4; i++) {
      await vi.advanceTimersByTimeAsync(60_000);
      await drain(30);
    }
    // Three answered requests (two unusable), one refused: requests and tokens count the answered ones.
    const today = h.engine.status().today;
    expect(h.ep.calls).toHaveLength(5);
    expect(today.requests).toBe(4);
    expect(today.promptTokens).toBe(40 + 0 + 2 * 100);
    expect(today.completionTokens).toBe(3 + 0 + 2 * 2);
    expect(today.costUsd).toBeCloseTo(0.01 + 2 * COST, 10);
    expect(h.engine.tabState(1)!.tokens).toBe(43 + 2 * 102);
  });

  it('rejects a waiting prompt check with the endpoint error instead of hanging', async () => {
    const h = harness();
    const err = guardError('auth', false, { status: 401 });
    h.ep.failures.push(err);
    await expect(h.engine.checkPrompt({ tabId: 1, url: URL_A, text: 'hi' })).rejects.toBe(err);
    expect(h.engine.status().pending).toBe(0);
  });

  it('isolates a block the model cannot answer for, and gives up on it with an error', async () => {
    const h = harness({ chunkTokens: budgetFor(4), maxItemAttempts: 2 });
    const errors: WorkItem[] = [];
    h.engine.onItemError((item) => errors.push(item));
    h.ep.classify.mockImplementation(async (turns) => {
      const text = turns.map((t) => t.text).join('\n');
      h.ep.calls.push(text);
      if (text.includes('Paragraph 2 ')) throw guardError('bad-output', false);
      return { verdict: verdictOf(text), usage: { promptTokens: 10, completionTokens: 1 }, latencyMs: 1 };
    });
    await h.engine.submitBlocks(1, 0, URL_A, blocks(4));
    await drain(30);
    await vi.advanceTimersByTimeAsync(60_000);
    await drain(30);
    expect(errors.map((e) => e.ref)).toEqual(['r2']);
    expect(h.verdicts.map((v) => v.item.ref).sort()).toEqual(['r0', 'r1', 'r3']);
    expect(h.verdicts.every((v) => v.verdict.safe)).toBe(true);
    expect(h.engine.tabState(1)).toMatchObject({ scanned: 3, pending: 0 });
    expect(h.engine.tabState(1)!.lastError).toMatch(/bad-output/);
  });

  it('takes content refusals of different items in a row for the endpoint: items wait instead of being given up', async () => {
    const h = harness({ concurrency: 1, chunkTokens: budgetFor(1), maxItemAttempts: 1 });
    const errors: WorkItem[] = [];
    h.engine.onItemError((item) => errors.push(item));
    let broken = true;
    h.ep.classify.mockImplementation(async (turns) => {
      const text = turns.map((t) => t.text).join('\n');
      h.ep.calls.push(text);
      if (broken) throw guardError('bad-output', false);
      return { verdict: verdictOf(text), usage: { promptTokens: 10, completionTokens: 1 }, latencyMs: 1 };
    });
    await h.engine.submitBlocks(1, 0, URL_A, blocks(3, { 2: 'S1' }));
    await drain(30);
    // The first refusal could be the item's own (given up: one attempt allowed); the second, for another item,
    // is the endpoint's: the circuit opens and the rest wait.
    expect(errors.map((e) => e.ref)).toEqual(['r0']);
    expect(h.ep.calls).toHaveLength(2);
    expect(h.engine.status()).toMatchObject({ state: 'circuit-open', pending: 2 });
    await vi.advanceTimersByTimeAsync(10_000);
    await drain(30);
    expect(h.ep.calls).toHaveLength(3); // one probe, refused too
    expect(h.engine.status()).toMatchObject({ state: 'circuit-open', pending: 2 });
    broken = false;
    await vi.advanceTimersByTimeAsync(20_000);
    await drain(30);
    expect(h.engine.status()).toMatchObject({ state: 'ok', pending: 0 });
    expect(h.verdicts.map((v) => [v.item.ref, v.verdict.safe])).toEqual([
      ['r1', true],
      ['r2', false],
    ]);
    expect(errors).toHaveLength(1);
  });

  it('waits before sending an item whose content was refused again, longer each time', async () => {
    const h = harness({ concurrency: 1, chunkTokens: budgetFor(1), breaker: { baseBackoffMs: 2_000 } });
    h.ep.failures.push(guardError('bad-output', false), guardError('bad-output', false));
    await h.engine.submitBlocks(1, 0, URL_A, blocks(1));
    await drain();
    expect(h.ep.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_999);
    await drain();
    expect(h.ep.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await drain();
    expect(h.ep.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(3_999);
    await drain();
    expect(h.ep.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    await drain();
    expect(h.ep.calls).toHaveLength(3);
    expect(h.verdicts.map((v) => v.item.ref)).toEqual(['r0']);
  });

  it('stops while offline and resumes when back', async () => {
    const h = harness();
    h.engine.setOnline(false);
    await h.engine.submitBlocks(1, 0, URL_A, blocks(2));
    await expect(h.engine.checkPrompt({ tabId: 1, url: URL_A, text: 'q' })).rejects.toMatchObject({
      kind: 'offline',
    });
    await drain();
    expect(h.engine.status()).toMatchObject({ state: 'offline', pending: 2 });
    expect(h.ep.calls).toHaveLength(0);
    h.engine.setOnline(true);
    await drain();
    expect(h.verdicts).toHaveLength(2);
  });

  it('cancels a prompt check through its signal', async () => {
    const h = harness();
    h.ep.hold();
    const ctrl = new AbortController();
    const check = h.engine.checkPrompt({ tabId: 1, url: URL_A, text: 'q' }, ctrl.signal);
    await vi.waitFor(() => expect(h.ep.calls).toHaveLength(1));
    ctrl.abort();
    await expect(check).rejects.toMatchObject({ kind: 'aborted' });
    h.ep.release();
    await drain();
    expect(h.engine.status()).toMatchObject({ pending: 0, inFlight: 0 });
  });
});

describe('ScanEngine: restarts', () => {
  it('resumes after a restart mid-scan: every item gets its verdict once, usage is counted once', async () => {
    const stateStore = new MemoryStateStore();
    const verdictStore = new MemoryVerdictStore();
    const opts = { concurrency: 1, chunkTokens: budgetFor(4), stateStore, verdictStore };
    const first = harness(opts);
    await first.engine.restore();
    first.ep.hangFrom(4); // chunk 1 safe (1), chunk 2 unsafe then its left half (2, 3); the 4th never answers
    await first.engine.submitBlocks(1, 0, URL_A, blocks(16, { 6: 'S1', 13: 'S9' }));
    await drain();
    expect(first.ep.calls).toHaveLength(4);
    await first.engine.flush();
    const before = first.verdicts.map((v) => v.item.ref);
    expect(before).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
    first.engine.dispose(); // the browser stops the background: nothing more is written

    const second = harness(opts);
    const restored = await second.engine.restore();
    expect(restored).toEqual({ resumed: 10, fromCache: 0 });
    await drain(30);
    const after = second.verdicts.map((v) => v.item.ref);
    expect([...before, ...after].sort()).toEqual(Array.from({ length: 16 }, (_, i) => `r${i}`).sort());
    expect(second.verdicts.filter((v) => !v.verdict.safe).map((v) => v.item.ref)).toEqual(['r6', 'r13']);
    // Requests answered: 3 before the restart; after it the unsettled blocks go again.
    const answered = 3 + second.ep.calls.length;
    expect(second.engine.status().today.requests).toBe(answered);
    expect(second.engine.status().today.promptTokens).toBe(answered * 100);
    const state = second.engine.tabState(1)!;
    expect(state).toMatchObject({ scanned: 16, pending: 0, tokens: answered * 102 });
    expect(state.flagged.map((f) => f.ref)).toEqual(['r6', 'r13']);
    // Nothing already settled was sent again.
    for (const call of second.ep.calls) expect(call).not.toContain(para(0));
  });

  it('keeps the wait of an item refused a moment ago through a restart, unless the settings changed', async () => {
    const stateStore = new MemoryStateStore();
    const verdictStore = new MemoryVerdictStore();
    const opts = {
      concurrency: 1,
      chunkTokens: budgetFor(1),
      breaker: { baseBackoffMs: 2_000 },
      stateStore,
      verdictStore,
    };
    const first = harness(opts);
    await first.engine.restore();
    first.ep.failures.push(guardError('bad-output', false));
    await first.engine.submitBlocks(1, 0, URL_A, blocks(1));
    await drain();
    expect(first.ep.calls).toHaveLength(1);
    await first.engine.flush();
    first.engine.dispose();
    const saved = structuredClone(await stateStore.get('engine'));

    const second = harness(opts);
    await second.engine.restore();
    await drain();
    await vi.advanceTimersByTimeAsync(1_999);
    await drain();
    expect(second.ep.calls).toHaveLength(0); // a refusal (billed, for an unusable answer) is not repeated at once
    await vi.advanceTimersByTimeAsync(1);
    await drain();
    expect(second.ep.calls).toHaveLength(1);
    expect(second.verdicts.map((v) => v.item.ref)).toEqual(['r0']);
    second.engine.dispose();

    // Saved under other settings: the item goes at once.
    await stateStore.set('engine', saved);
    const third = harness({ ...opts, fingerprint: 'llama-guard-3-8b raw' });
    await third.engine.restore();
    await drain();
    expect(third.ep.calls).toHaveLength(1);
  });

  it('answers from the cache an item whose verdict was cached but not yet saved', async () => {
    const verdictStore = new MemoryVerdictStore();
    const inner = new MemoryStateStore();
    let frozen = false;
    const stateStore: StateStore = {
      get: (k) => inner.get(k),
      set: async (k, v) => {
        if (!frozen) await inner.set(k, v);
      },
    };
    const first = harness({ stateStore, verdictStore, chunkTokens: budgetFor(2) });
    await first.engine.restore();
    first.ep.hold();
    await first.engine.submitBlocks(1, 0, URL_A, blocks(2));
    await drain();
    await first.engine.flush();
    frozen = true; // the write after the answer is lost
    first.ep.release();
    await drain();
    expect(first.verdicts).toHaveLength(2);
    first.engine.dispose();

    const second = harness({ stateStore, verdictStore, chunkTokens: budgetFor(2) });
    frozen = false;
    expect(await second.engine.restore()).toEqual({ resumed: 0, fromCache: 2 });
    await drain();
    expect(second.ep.calls).toHaveLength(0);
    expect(second.verdicts).toHaveLength(2);
    expect(second.engine.tabState(1)).toMatchObject({ scanned: 2, pending: 0 });
  });

  it('keeps rate limits and an open circuit across a restart', async () => {
    const stateStore = new MemoryStateStore();
    const first = harness({ stateStore, breaker: { failureThreshold: 1, baseBackoffMs: 60_000 } });
    await first.engine.restore();
    first.ep.failures.push(guardError('unreachable', true));
    await first.engine.submitBlocks(1, 0, URL_A, blocks(1));
    await drain();
    await first.engine.flush();
    first.engine.dispose();
    const second = harness({ stateStore, breaker: { failureThreshold: 1, baseBackoffMs: 60_000 } });
    expect(await second.engine.restore()).toMatchObject({ resumed: 1 });
    await drain();
    expect(second.engine.status()).toMatchObject({ state: 'circuit-open', pending: 1 });
    expect(second.ep.calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(60_000);
    await drain();
    expect(second.verdicts).toHaveLength(1);
  });

  it('reads a flagged item saved without its frame as one of the top document', async () => {
    const stateStore = new MemoryStateStore();
    const a = harness({ stateStore, chunkTokens: budgetFor(1) });
    await a.engine.submitBlocks(1, 0, URL_A, blocks(2, { 1: 'S3' }));
    await drain();
    await a.engine.flush();
    a.engine.dispose();
    const saved = (await stateStore.get('engine')) as { tabs: Record<string, { state: TabState }> };
    for (const f of saved.tabs['1']!.state.flagged) delete (f as { frameId?: number }).frameId;
    await stateStore.set('engine', saved);
    const b = harness({ stateStore });
    expect((await b.engine.restore()).discarded).toBeUndefined();
    expect(b.engine.tabState(1)!.flagged).toEqual([
      { frameId: 0, ref: 'r1', kind: 'text', categories: ['S3'], snippet: para(1, 'S3') },
    ]);
    // A frame that is not a whole number is not.
    (saved.tabs['1']!.state.flagged[0] as { frameId?: unknown }).frameId = 'top';
    await stateStore.set('engine', saved);
    expect((await harness({ stateStore }).engine.restore()).discarded).toMatch(/malformed flagged item/);
  });

  it('discards a saved state it cannot read, saying why', async () => {
    const stateStore = new MemoryStateStore();
    await stateStore.set('engine', { v: 99 });
    const h = harness({ stateStore });
    const res = await h.engine.restore();
    expect(res.discarded).toMatch(/version 99/);
    await h.engine.submitBlocks(1, 0, URL_A, blocks(1));
    await drain();
    await h.engine.flush();
    expect(await stateStore.get('engine')).toMatchObject({ v: 1 });
  });

  it('coalesces writes of the saved state', async () => {
    const stateStore = new MemoryStateStore();
    const h = harness({ stateStore, chunkTokens: budgetFor(1), concurrency: 4 });
    await h.engine.restore();
    await h.engine.submitBlocks(1, 0, URL_A, blocks(40));
    await drain(40);
    await h.engine.flush();
    expect(h.verdicts).toHaveLength(40);
    expect(stateStore.writes).toBeLessThan(40);
    const saved = (await stateStore.get('engine')) as {
      jobs: unknown[];
      tabs: Record<string, { state: TabState }>;
    };
    expect(saved.jobs).toEqual([]);
    expect(saved.tabs['1']!.state.scanned).toBe(40);
  });

  it('writes the saved state from a timer, at most once per interval', async () => {
    const stateStore = new MemoryStateStore();
    // 4 blocks a chunk, one request at a time: every answer is followed by the next request at once.
    const h = harness({ stateStore, chunkTokens: budgetFor(4), concurrency: 1 });
    await h.engine.restore();
    h.ep.classify.mockImplementation(async (turns) => {
      await new Promise((r) => setTimeout(r, 10));
      const text = turns.map((t) => t.text).join('\n');
      return { verdict: verdictOf(text), usage: { promptTokens: 100, completionTokens: 2 }, latencyMs: 10 };
    });
    await h.engine.submitBlocks(1, 0, URL_A, blocks(40));
    const start = Date.now();
    for (let i = 0; i < 100 && h.verdicts.length < 40; i++) await vi.advanceTimersByTimeAsync(10);
    const took = Date.now() - start;
    expect(h.verdicts).toHaveLength(40);
    expect(h.ep.classify).toHaveBeenCalledTimes(10);
    // At most one write per STATE_WRITE_INTERVAL_MS while the page was checked (and the first one waited).
    expect(stateStore.writes).toBeLessThanOrEqual(Math.ceil(took / STATE_WRITE_INTERVAL_MS) + 1);
    await vi.advanceTimersByTimeAsync(STATE_WRITE_INTERVAL_MS);
    const saved = (await stateStore.get('engine')) as {
      jobs: unknown[];
      tabs: Record<string, { state: TabState }>;
    };
    expect(saved.jobs).toEqual([]);
    expect(saved.tabs['1']!.state.scanned).toBe(40);
    const writes = stateStore.writes;
    // Nothing changed since: nothing more is written.
    await vi.advanceTimersByTimeAsync(5 * STATE_WRITE_INTERVAL_MS);
    expect(stateStore.writes).toBe(writes);
  });
});

describe('ScanEngine: settings', () => {
  it('re-keys queued items and clears the cache when the fingerprint changes', async () => {
    const h = harness({ concurrency: 1, chunkTokens: budgetFor(1) });
    await h.engine.restore();
    await h.engine.submitBlocks(1, 0, URL_A, blocks(1));
    await drain();
    h.ep.hold();
    await h.engine.submitBlocks(1, 0, URL_A, blocks(3).slice(1));
    await drain();
    expect(h.ep.calls).toHaveLength(2);
    const next = endpoint();
    await h.engine.reconfigure({
      classify: next.classify,
      fingerprint: 'llama-guard-3-8b raw',
    });
    await drain();
    // The held request was aborted; both queued blocks went to the new endpoint.
    expect(next.calls).toEqual([para(1), para(2)]);
    // The old verdict no longer counts: the same block is asked again under the new settings.
    expect((await h.engine.submitBlocks(1, 0, URL_A, blocks(1))).queued).toBe(1);
    await drain();
    expect(next.calls).toHaveLength(3);
  });

  it('refuses nonsensical options with typed errors', async () => {
    expect(() => harness({ concurrency: 0 })).toThrow(EngineError);
    expect(() => harness({ contextWindow: 200 })).toThrow(/no room/);
    const h = harness();
    await expect(h.engine.reconfigure({ dailyBudgetUsd: -1 })).rejects.toMatchObject({
      kind: 'invalid-input',
    });
  });
});

describe('ScanEngine: properties', () => {
  it('settles every block once and never sends a settled block again, whatever fails', async () => {
    const pool = Array.from({ length: 12 }, (_, i) => para(i, i % 5 === 3 ? `S${i}` : undefined));
    const op = fc.oneof(
      fc.record({
        type: fc.constant('submit' as const),
        tab: fc.integer({ min: 1, max: 3 }),
        refs: fc.uniqueArray(fc.integer({ min: 0, max: 11 }), { minLength: 1, maxLength: 8 }),
        priority: fc.constantFrom('viewport' as const, 'page' as const),
      }),
      fc.record({
        type: fc.constant('fail' as const),
        kind: fc.constantFrom('rate-limited', 'server', 'unreachable', 'timeout'),
        count: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({ type: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 3000 }) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 3 }),
        async (ops, conc) => {
          const h = harness({
            concurrency: conc,
            chunkTokens: budgetFor(4),
            breaker: { failureThreshold: 2, baseBackoffMs: 1000, maxBackoffMs: 4000 },
          });
          const settledAt = new Map<string, number>();
          const answered: string[] = [];
          const violations: string[] = [];
          h.engine.onVerdict((item) => {
            if (!settledAt.has(item.text)) settledAt.set(item.text, answered.length);
          });
          const inner = h.ep.classify.getMockImplementation()!;
          h.ep.classify.mockImplementation(async (turns, signal) => {
            const text = turns.map((t) => t.text).join('\n');
            for (const [block, at] of settledAt) {
              if (text.includes(block)) violations.push(`sent again after response ${at}: ${block}`);
            }
            const res = await inner(turns, signal);
            answered.push(text);
            return res;
          });
          await h.engine.restore();
          const submitted = new Map<number, Set<number>>();
          for (const o of ops) {
            if (o.type === 'submit') {
              const list = o.refs.map((i) => ({ ref: `r${i}`, text: pool[i]!, priority: o.priority }));
              await h.engine.submitBlocks(o.tab, 0, URL_A, list);
              const set = submitted.get(o.tab) ?? new Set();
              for (const i of o.refs) set.add(i);
              submitted.set(o.tab, set);
            } else if (o.type === 'fail') {
              for (let k = 0; k < o.count; k++) {
                h.ep.failures.push(
                  guardError(o.kind, true, o.kind === 'rate-limited' ? { retryAt: Date.now() + 2000 } : {}),
                );
              }
            } else {
              await vi.advanceTimersByTimeAsync(o.ms);
            }
            await drain(4);
          }
          for (let i = 0; i < 40; i++) {
            const st = h.engine.status();
            if (st.pending === 0 && st.inFlight === 0) break;
            await vi.advanceTimersByTimeAsync(5000);
            await drain(6);
          }
          expect(h.engine.status()).toMatchObject({ pending: 0, inFlight: 0 });
          expect(violations).toEqual([]);
          expect(h.engine.status().today.requests).toBe(answered.length);
          for (const [tab, refs] of submitted) {
            const state = h.engine.tabState(tab)!;
            expect(state.scanned).toBe(refs.size);
            expect(state.flagged.map((f) => f.ref).sort()).toEqual(
              [...refs]
                .filter((i) => i % 5 === 3)
                .map((i) => `r${i}`)
                .sort(),
            );
          }
          h.engine.dispose();
        },
      ),
      { numRuns: 40 },
    );
  });
});
