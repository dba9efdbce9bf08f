/**
 * The scan engine: one per endpoint, in the background. It decides what is worth a request, sends it, remembers
 * the answer and keeps each tab's results — never sending the same content twice, surviving restarts of the
 * background, and spending no more than it must.
 *
 * Public API — `new ScanEngine(options: EngineOptions)`:
 * - `restore(): Promise<RestoreResult>` — call once at start-up, before anything else: opens the verdict cache
 *   (clearing it if the settings fingerprint changed), reads the saved state and resumes pending items. An item
 *   whose verdict was already recorded is neither re-sent nor re-counted; one whose verdict reached the cache
 *   but not the saved state is answered from the cache, free.
 * - `submit(items: ItemInput[]): Promise<SubmitResult>` — queue items; answered at once from the cache when
 *   possible, merged with identical items already queued or in flight otherwise.
 * - `submitBlocks(tabId, frameId, url, blocks: { ref, text, priority }[])` — the same for a batch of page text
 *   blocks (kind 'text'), in document order.
 * - `noteNotChecked(tabId, frameId, url, reason | null)` — a frame's page scan could not start or stopped (why),
 *   or runs again.
 * - `noteUnchecked(tabId, frameId, url, chars)` — how much of a frame's page text was left unchecked (its page
 *   state's total; the popup says so rather than calling the page clean).
 * - `check(item: ItemInput, signal?): Promise<Verdict>` — one item the caller waits for (a prompt, a reply).
 * - `checkPrompt({ tabId, frameId?, url, ref?, text }, signal?): Promise<Verdict>` — a prompt about to be sent.
 *   Waiting callers are not left hanging: while the endpoint is failing, offline, rate limited for longer than
 *   `promptMaxWaitMs` or (with `budgetAppliesToPrompts`) over budget, the promise rejects with an `EngineError`
 *   or the classifier's own error. A check somebody waits for is not persisted: a restart ends it.
 * - `dropTab(tabId)`, `navigated(tabId, url)` — forget a closed tab / start a tab afresh; its queued items are
 *   dropped (a request already in flight finishes and is cached, since a reload will want it).
 * - `setOnline(online)` — the background forwards the browser's online/offline events.
 * - `pauseUntil(until, reason?)` — the endpoint asked for a pause (`Retry-After`) that the classifier waits out
 *   itself: nothing further is sent before `until`, not even the next step of a bisection under way.
 * - `reconfigure(options)` — new classifier, fingerprint, budget, limits…; a new fingerprint clears the cache
 *   and re-keys queued items.
 * - `status(): EngineStatus`, `tabState(tabId): TabState | undefined`, `tabIds(): number[]`.
 * - `flush(): Promise<void>` — write the state now; `snapshot(): EngineSnapshot` — what is written.
 * - `dispose()` — stop: abort requests, reject waiting checks, write nothing more.
 * - Events (each returns an unsubscribe function): `onVerdict((item, verdict) => …)` when a submitted item has
 *   its verdict (an element submitted again gets it again, from the cache, without being counted twice);
 *   `onTabState((tabId, state | null) => …)` when a tab's state changes (`null`: the tab is gone);
 *   `onStatus(status => …)`; `onItemError((item, error) => …)` when an item is given up on.
 *
 * Scheduling: priority prompt > viewport > page > image, first in first out within a level; at most
 * `concurrency` requests at once, and one more for a prompt check when page work fills them all (a person waiting
 * at a send never waits for a slot). Page text of one tab and frame is packed into chunks (`chunker.ts`) and
 * searched when unsafe; other kinds go one per request. Under the `parallel` strategy (default) the viewport goes
 * first: a batch's viewport blocks are keyed and queued before the rest of it, spread over the free slots (as far
 * as each part keeps `MIN_VIEWPORT_CHUNK_TOKENS`), and a flagged viewport chunk is cut `concurrency` ways at once
 * (`runChunkParallel`), each part on a slot granted before new work of its level (`acquireSlot`); page text and
 * images wait while such a search may need slots. Page text below the fold is halved one request at a time
 * (`runChunk`), the cheapest search; `halving` does that for the viewport too (the strategy before). The queue is our own rather than p-queue's: chunks are
 * formed at dispatch time from whatever is queued, queued items must be dropped by tab, merged by key, re-keyed
 * and persisted, and dispatch stops as a whole for rate limits, the circuit breaker, the budget and offline —
 * p-queue holds opaque closures, which allow none of that.
 *
 * Failures: a rate limit (or any error with `retryAt`) pauses everything until then. The items of any other failed
 * request wait the breaker's first wait before they go again (the classifier has retried them already). Endpoint
 * failures feed the circuit breaker (`breaker.ts`) — it opens at once for errors that do not go away by themselves
 * (a refused key, an unknown model) —; the items stay queued and go again when it lets a probe through. Errors
 * that belong to the content (`too-large`, `bad-output`, errors the engine cannot read) first isolate the items
 * (sent alone), then give up on an item after `maxItemAttempts`, reporting an error — never a "safe"; but when
 * such an error follows one for other items with nothing answered in between, it is the endpoint's: the circuit
 * opens and the items wait, pending.
 *
 * Money: tokens and cost are counted once per real response (including answers that arrive after a setting
 * changed, and answers that came back unusable, which the provider bills all the same), never for cache hits. Once today's cost reaches `dailyBudgetUsd`, page scanning pauses until local
 * midnight; prompt checks go on unless `budgetAppliesToPrompts`.
 *
 * Persistence: every change marks the state dirty; writes are coalesced (at most one in progress, the next one
 * carries everything since) into one JSON snapshot under `stateKey` of the injected `StateStore`.
 */
import type { ErrorSentence } from '../guard/error-text';
import type { Verdict } from '../guard/types';
import type { MessageText } from '../text';
import { type BreakerOptions, CircuitBreaker, DEFAULT_BREAKER } from './breaker';
import { isVerdict, type VerdictCache } from './cache';
import {
  chunkBudget,
  DEFAULT_CHUNK_TOKENS,
  packBlocks,
  runChunk,
  runChunkParallel,
  SEPARATOR_TOKENS,
  splitText,
} from './chunker';
import {
  ENGINE_TEMPLATES,
  type EngineTextKey,
  engineSentence,
  failingSentence,
  parseEngineReason,
} from './engine-text';
import { contentKey, normalizeText } from './keys';
import {
  type DayUsage,
  type EngineSnapshot,
  emptyDay,
  localDay,
  nextLocalMidnight,
  type PersistedJob,
  type PersistedWaiter,
  parseSnapshot,
  SNAPSHOT_VERSION,
} from './persist';
import {
  cloneTabState,
  DEFAULT_SNIPPET_LENGTH,
  newTabRecord,
  recordTabError,
  recordTabNotChecked,
  recordTabUnchecked,
  recordTabUsage,
  recordTabVerdict,
  type TabRecord,
} from './tabs';
import { estimateTokens } from './tokens';
import { chunkTurns, itemTurns } from './turns';
import {
  asClassifierError,
  type Classify,
  type ClassifyResult,
  type Clock,
  EngineError,
  ITEM_KINDS,
  type ItemContent,
  type ItemInput,
  isNotCheckedReason,
  type NotCheckedReason,
  PRIORITIES,
  type Priority,
  type StateStore,
  systemClock,
  type TabState,
  type Usage,
  type WorkItem,
} from './types';

export interface EngineOptions {
  classify: Classify;
  /** The settings in force that change a verdict, as one string (`settingsFingerprint` in `lib/settings`). */
  fingerprint: string;
  cache: VerdictCache;
  stateStore: StateStore;
  /** Key of the snapshot in the state store. Default 'engine'. */
  stateKey?: string;
  clock?: Clock;
  /** Requests at once to this endpoint. Default 2. */
  concurrency?: number;
  /** Token budget of one chunk of page text. Default 2000. */
  chunkTokens?: number;
  /** The model's context window. Default 8192 (the smallest Llama Guard is served with). */
  contextWindow?: number;
  /** Tokens the policy header takes. Default 300. */
  headerTokens?: number;
  /** 0: the model takes no images, image items are refused. Default: no limit checked here. */
  maxImages?: number;
  /** Daily spending limit in USD; unset: none. */
  dailyBudgetUsd?: number | null;
  budgetAppliesToPrompts?: boolean;
  /** Cost of a response when the classifier reports none (e.g. from the provider's price). Default: 0. */
  estimateCostUsd?: (usage: Usage) => number;
  breaker?: BreakerOptions;
  /** Longest a waiting check waits out a rate limit before it fails. Default 20 s. */
  promptMaxWaitMs?: number;
  /** Refusals of one item's content before it is given up. Default 3. */
  maxItemAttempts?: number;
  /** Wait after a rate limit that said nothing about when to come back. Default 20 s. */
  rateLimitWaitMs?: number;
  snippetLength?: number;
  /**
   * How page text is scheduled. `parallel` (default): the viewport's text goes first in small chunks spread over
   * the free request slots, and a viewport chunk that comes back unsafe is cut `concurrency` ways at once, each
   * part on a slot of its own. `halving`: the strategy before it (viewport text packed like the rest, every unsafe
   * chunk halved one request at a time), kept to compare the two.
   */
  strategy?: ScheduleStrategy;
}

export type ScheduleStrategy = 'parallel' | 'halving';
export const SCHEDULE_STRATEGIES: readonly ScheduleStrategy[] = ['parallel', 'halving'];
/**
 * Smallest viewport chunk worth a request of its own: every request repeats the policy header, so the viewport is
 * spread over the free slots only as far as each part keeps at least this many tokens.
 */
export const MIN_VIEWPORT_CHUNK_TOKENS = 200;
/**
 * The persisted state is written at most this often… (a background stopped in between resumes from the write
 * before: what was answered since is in the verdict cache, so nothing is sent twice)
 */
export const STATE_WRITE_INTERVAL_MS = 500;
/** …and this long after the change at the soonest (what changes together is written together). */
export const STATE_WRITE_DELAY_MS = 20;

export type ReconfigureOptions = Partial<Omit<EngineOptions, 'cache' | 'stateStore' | 'stateKey' | 'clock'>>;

export type EngineState = 'ok' | 'rate-limited' | 'circuit-open' | 'budget-paused' | 'offline';

export interface EngineStatus {
  state: EngineState;
  /** Why it is not 'ok', in English. */
  reason?: string;
  /** `reason` by message key and values, when the engine or the guard client made it from a template. */
  reasonText?: MessageText;
  /** Epoch ms when the state is expected to end. */
  until?: number;
  /** Items queued, not yet sent. */
  pending: number;
  /** Items in requests under way. */
  inFlight: number;
  today: Omit<DayUsage, 'day'>;
  budgetUsd?: number;
}

export interface SubmitResult {
  /** Items (block parts included) newly queued. */
  queued: number;
  /** Answered at once from the cache. */
  cached: number;
  /** Joined an identical item already queued or in flight. */
  merged: number;
  /** Empty blocks, or items of a tab that navigated or closed meanwhile. */
  skipped: number;
}

export interface RestoreResult {
  /** Items queued again. */
  resumed: number;
  /** Items answered from the cache instead. */
  fromCache: number;
  /** Why a saved state was discarded, if it was. */
  discarded?: string;
}

export interface BlockInput {
  ref: string;
  text: string;
  priority: Priority;
}

export interface PromptInput {
  tabId: number;
  frameId?: number;
  url: string;
  ref?: string;
  text: string;
}

interface Awaiting {
  resolve(v: Verdict): void;
  reject(e: unknown): void;
}

interface Waiter extends PersistedWaiter {
  /** A caller waiting on `check()`; such waiters are not persisted. */
  awaited?: Awaiting;
}

interface Job {
  id: string;
  content: ItemContent;
  tokens: number;
  priority: Priority;
  seq: number;
  attempts: number;
  solo: boolean;
  waiters: Waiter[];
  inflight: boolean;
  /** Not sent again before this time (epoch ms): an item whose request just failed. Not persisted. */
  notBefore?: number;
}

type Listener<A extends unknown[]> = (...args: A) => void;

/** A chunk under way that wants one more request slot for a part of its search. */
interface SlotWaiter {
  priority: Priority;
  /** The chunk's lead item's place in the queue: older chunks are served first. */
  seq: number;
  grant(): void;
}

const RANK: Record<Priority, number> = { prompt: 0, viewport: 1, page: 2, image: 3 };
/** Errors that are about the content sent, not the endpoint. */
const CONTENT_ERRORS = new Set(['too-large', 'bad-output', 'unknown']);
/**
 * Endpoint errors that do not go away by themselves (a refused key, a model the endpoint does not serve, a
 * request it rejects as malformed): the circuit opens at the first one, so the endpoint is only probed now and
 * then, with a growing wait, until the person changes the settings (which starts the endpoint afresh).
 */
const PERMANENT_ERRORS = new Set(['auth', 'forbidden', 'model-not-found', 'config', 'cors', 'no-access']);
/** Thrown inside a chunk run to stop it quietly: its unsettled items stay queued. */
const STOP = Symbol('stop');
/** Verdicts kept in memory for items that just finished (covers the moment before the cache has them). */
const RECENT_VERDICTS = 2000;

function badInput(message: string): never {
  throw new EngineError('invalid-input', message);
}

function validateInput(input: ItemInput): void {
  if (!input || typeof input !== 'object') badInput('An item must be an object.');
  if (!ITEM_KINDS.includes(input.kind)) badInput(`Unknown item kind: ${String(input.kind)}`);
  if (!PRIORITIES.includes(input.priority)) badInput(`Unknown priority: ${String(input.priority)}`);
  if (!Number.isInteger(input.tabId)) badInput('An item needs an integer tabId.');
  if (!Number.isInteger(input.frameId) || input.frameId < 0) badInput('An item needs a frameId ≥ 0.');
  if (typeof input.url !== 'string') badInput('An item needs the URL it was found on.');
  if (typeof input.ref !== 'string' || !input.ref) badInput('An item needs a ref.');
  if (typeof input.text !== 'string') badInput('An item needs text (may be empty for an image).');
  if (input.context !== undefined && typeof input.context !== 'string') badInput('context must be a string.');
  if (input.kind === 'image') {
    const image = input.imageData ?? input.imageUrl;
    if (typeof image !== 'string' || !image.trim()) badInput('An image item needs imageData or imageUrl.');
  }
}

function mergeVerdicts(verdicts: Verdict[]): Verdict {
  const categories: string[] = [];
  const unknownCategories: string[] = [];
  for (const v of verdicts) {
    for (const c of v.categories) if (!categories.includes(c)) categories.push(c);
    for (const c of v.unknownCategories) if (!unknownCategories.includes(c)) unknownCategories.push(c);
  }
  return { safe: verdicts.every((v) => v.safe), categories, unknownCategories };
}

/** `a` goes before `b`: a higher priority, or the same and queued earlier. */
function outranks(a: { priority: Priority; seq: number }, b: { priority: Priority; seq: number }): boolean {
  return RANK[a.priority] < RANK[b.priority] || (a.priority === b.priority && a.seq < b.seq);
}

const finiteOr0 = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0);

export class ScanEngine {
  private classify: Classify;
  private fingerprint: string;
  private readonly cache: VerdictCache;
  private readonly stateStore: StateStore;
  private readonly stateKey: string;
  private readonly clock: Clock;
  private opts: Required<
    Pick<
      EngineOptions,
      | 'concurrency'
      | 'chunkTokens'
      | 'contextWindow'
      | 'headerTokens'
      | 'budgetAppliesToPrompts'
      | 'promptMaxWaitMs'
      | 'maxItemAttempts'
      | 'rateLimitWaitMs'
      | 'snippetLength'
      | 'strategy'
    >
  > & {
    maxImages?: number;
    dailyBudgetUsd: number | null;
    estimateCostUsd?: (usage: Usage) => number;
    breaker?: BreakerOptions;
  };
  private blockBudget = DEFAULT_CHUNK_TOKENS;
  private itemBudget = DEFAULT_CHUNK_TOKENS;

  private readonly jobs = new Map<string, Job>();
  private readonly tabs = new Map<number, TabRecord>();
  private readonly recent = new Map<string, Verdict>();
  private readonly controllers = new Set<AbortController>();
  private breaker: CircuitBreaker;
  private today: DayUsage;
  private rateLimitedUntil: number | null = null;
  private rateLimitReason: string | undefined;
  private online = true;
  private seq = 0;
  private epochs = 0;
  /** Bumped when the fingerprint changes: answers to older requests are not delivered. */
  private gen = 0;
  private requests = 0;
  /** Of those, prompt checks (one may go beyond `concurrency`). */
  private promptRequests = 0;
  /** Viewport chunks under way that may be searched in parallel: page work waits until they are done. */
  private viewportSearches = 0;
  /** Chunks under way waiting for another slot for a part of their search (see `acquireSlot`). */
  private readonly slotWaiters: SlotWaiter[] = [];
  private disposed = false;
  /**
   * The items of the last request refused for its content (too large, not a verdict) since the last answer that
   * worked. When the next such refusal is for other items, it is the endpoint, not the content.
   */
  private lastContentFailure: Set<string> | null = null;

  private restoring: Promise<RestoreResult> | null = null;
  private restored = true;
  private readonly afterRestore: Array<() => void> = [];
  private rekeying = 0;

  private wakeTimer: unknown = null;
  private wakeAt: number | null = null;

  private dirty = false;
  private writeTimer: unknown = null;
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  /** The last write was refused: the next change tries again (not a timer). */
  private writeFailed = false;
  private writing: Promise<void> | null = null;
  private notifyScheduled = false;
  private readonly dirtyTabs = new Set<number>();
  private lastStatusJson = '';

  private readonly listeners = {
    verdict: new Set<Listener<[WorkItem, Verdict]>>(),
    tab: new Set<Listener<[number, TabState | null]>>(),
    status: new Set<Listener<[EngineStatus]>>(),
    itemError: new Set<Listener<[WorkItem, unknown]>>(),
  };

  constructor(options: EngineOptions) {
    if (typeof options?.classify !== 'function') badInput('The engine needs a classifier.');
    if (typeof options.fingerprint !== 'string' || !options.fingerprint)
      badInput('The engine needs a fingerprint.');
    if (!options.cache || !options.stateStore)
      badInput('The engine needs a verdict cache and a state store.');
    this.classify = options.classify;
    this.fingerprint = options.fingerprint;
    this.cache = options.cache;
    this.stateStore = options.stateStore;
    this.stateKey = options.stateKey ?? 'engine';
    this.clock = options.clock ?? systemClock;
    this.opts = {
      concurrency: 2,
      chunkTokens: DEFAULT_CHUNK_TOKENS,
      contextWindow: 8192,
      headerTokens: 300,
      budgetAppliesToPrompts: false,
      promptMaxWaitMs: 20_000,
      maxItemAttempts: 3,
      rateLimitWaitMs: 20_000,
      snippetLength: DEFAULT_SNIPPET_LENGTH,
      strategy: 'parallel',
      dailyBudgetUsd: null,
    };
    this.applyOptions(options);
    this.breaker = new CircuitBreaker(this.opts.breaker);
    this.today = emptyDay(localDay(this.clock.now()));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Events

  onVerdict(fn: (item: WorkItem, verdict: Verdict) => void): () => void {
    return this.listen(this.listeners.verdict, fn);
  }
  onTabState(fn: (tabId: number, state: TabState | null) => void): () => void {
    return this.listen(this.listeners.tab, fn);
  }
  onStatus(fn: (status: EngineStatus) => void): () => void {
    return this.listen(this.listeners.status, fn);
  }
  onItemError(fn: (item: WorkItem, error: unknown) => void): () => void {
    return this.listen(this.listeners.itemError, fn);
  }

  private listen<A extends unknown[]>(set: Set<Listener<A>>, fn: Listener<A>): () => void {
    set.add(fn);
    return () => set.delete(fn);
  }

  private emit<A extends unknown[]>(set: Set<Listener<A>>, ...args: A): void {
    for (const fn of set) {
      try {
        fn(...args);
      } catch {
        // A listener's failure is its own; the engine goes on.
      }
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Options

  private applyOptions(o: ReconfigureOptions): void {
    const positiveInt = (n: unknown, name: string) => {
      if (!Number.isInteger(n) || (n as number) < 1) badInput(`${name} must be a positive integer.`);
    };
    if (o.concurrency !== undefined) positiveInt(o.concurrency, 'concurrency');
    if (o.maxItemAttempts !== undefined) positiveInt(o.maxItemAttempts, 'maxItemAttempts');
    if (o.strategy !== undefined && !SCHEDULE_STRATEGIES.includes(o.strategy))
      badInput(`strategy must be one of ${SCHEDULE_STRATEGIES.join(', ')}.`);
    if (o.dailyBudgetUsd !== undefined && o.dailyBudgetUsd !== null) {
      if (!Number.isFinite(o.dailyBudgetUsd) || o.dailyBudgetUsd < 0) badInput('dailyBudgetUsd must be ≥ 0.');
    }
    const next = { ...this.opts };
    for (const [k, v] of Object.entries(o)) {
      if (v !== undefined && k !== 'classify' && k !== 'fingerprint')
        (next as Record<string, unknown>)[k] = v;
    }
    const blockBudget = chunkBudget({
      requested: next.chunkTokens,
      contextWindow: next.contextWindow,
      headerTokens: next.headerTokens,
    });
    const itemBudget = chunkBudget({
      requested: next.contextWindow,
      contextWindow: next.contextWindow,
      headerTokens: next.headerTokens,
    });
    this.opts = next;
    this.blockBudget = blockBudget;
    this.itemBudget = itemBudget;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Start-up

  restore(): Promise<RestoreResult> {
    if (this.restoring) return this.restoring;
    this.restored = false;
    this.restoring = this.doRestore().finally(() => {
      this.restored = true;
      for (const fn of this.afterRestore.splice(0)) fn();
      this.markDirty();
      this.pump();
    });
    return this.restoring;
  }

  private async doRestore(): Promise<RestoreResult> {
    await this.cache.init();
    await this.cache.clearIfFingerprintChanged(this.fingerprint);
    const raw = await this.stateStore.get(this.stateKey);
    if (raw === undefined || raw === null) return { resumed: 0, fromCache: 0 };
    let snap: EngineSnapshot;
    try {
      snap = parseSnapshot(raw);
    } catch (err) {
      return { resumed: 0, fromCache: 0, discarded: (err as Error).message };
    }
    this.seq = Math.max(this.seq, snap.seq);
    for (const [id, t] of Object.entries(snap.tabs)) {
      const tabId = Number(id);
      this.epochs = Math.max(this.epochs, t.epoch);
      if (!this.tabs.has(tabId))
        this.tabs.set(tabId, { epoch: t.epoch, state: t.state, seen: new Set(t.seen) });
    }
    if (snap.today.day === this.today.day) this.today = { ...snap.today };
    const now = this.clock.now();
    if (snap.rateLimitedUntil !== null && snap.rateLimitedUntil > now) {
      this.rateLimitedUntil = snap.rateLimitedUntil;
      this.rateLimitReason = snap.rateLimitReason;
    }
    this.breaker = new CircuitBreaker(this.opts.breaker, snap.breaker);

    let jobs: Job[] = snap.jobs.map((j) => ({
      ...j,
      waiters: j.waiters.map((w) => ({ ...w })),
      inflight: false,
    }));
    if (snap.fingerprint !== this.fingerprint) {
      // Other settings: what failed under the old ones may go at once.
      jobs = await this.rekey(jobs);
      for (const job of jobs) delete job.notBefore;
    }
    let resumed = 0;
    let fromCache = 0;
    const cached = await Promise.all(jobs.map((j) => this.lookup(j.id)));
    jobs.forEach((job, i) => {
      job.waiters = job.waiters.filter((w) => this.tabs.get(w.tabId)?.epoch === w.epoch);
      if (job.waiters.length === 0) return;
      const verdict = cached[i];
      if (verdict) {
        fromCache += job.waiters.length;
        this.finish(job, verdict, true);
        return;
      }
      resumed += job.waiters.length;
      this.insertJob(job);
    });
    for (const tabId of this.tabs.keys()) this.dirtyTabs.add(tabId);
    return { resumed, fromCache };
  }

  /** Recomputes keys after the fingerprint changed, merging items that now share one. */
  private async rekey(jobs: Job[]): Promise<Job[]> {
    const fp = this.fingerprint;
    const ids = await Promise.all(jobs.map((j) => contentKey(j.content, fp)));
    const byId = new Map<string, Job>();
    jobs.forEach((job, i) => {
      const id = ids[i]!;
      const existing = byId.get(id);
      if (existing) this.mergeInto(existing, job);
      else byId.set(id, { ...job, id, inflight: false });
    });
    return [...byId.values()];
  }

  private mergeInto(target: Job, other: Job): void {
    for (const w of other.waiters) this.addWaiter(target, w);
    target.seq = Math.min(target.seq, other.seq);
    target.solo ||= other.solo;
  }

  private insertJob(job: Job): void {
    const existing = this.jobs.get(job.id);
    if (existing) this.mergeInto(existing, job);
    else this.jobs.set(job.id, job);
  }

  private async ready(): Promise<void> {
    if (this.disposed) throw new EngineError('disposed', engineSentence('engine_error_stopped'));
    if (this.restoring) await this.restoring;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Submitting

  submitBlocks(
    tabId: number,
    frameId: number,
    url: string,
    blocks: readonly BlockInput[],
  ): Promise<SubmitResult> {
    if (!Array.isArray(blocks))
      return Promise.reject(new EngineError('invalid-input', 'blocks must be an array.'));
    return this.submit(
      blocks.map(
        (b) =>
          ({
            kind: 'text',
            tabId,
            frameId,
            url,
            ref: b?.ref,
            text: b?.text,
            priority: b?.priority,
          }) as ItemInput,
      ),
    );
  }

  async submit(inputs: readonly ItemInput[]): Promise<SubmitResult> {
    if (!Array.isArray(inputs)) badInput('submit expects an array of items.');
    inputs.forEach(validateInput);
    this.checkImages(inputs);
    await this.ready();
    const result: SubmitResult = { queued: 0, cached: 0, merged: 0, skipped: 0 };
    const epochs = new Map<number, number>();
    for (const input of inputs) epochs.set(input.tabId, this.ensureTab(input.tabId, input.url).epoch);
    const parts = inputs.flatMap((input) => {
      const ps = this.expand(input);
      if (ps.length === 0) result.skipped++;
      return ps;
    });
    // What the person sees first: its keys are made, and its requests sent, before the rest of the batch is keyed
    // (hashing and looking up a few hundred blocks takes tens of milliseconds in a busy background).
    const urgent = parts.filter((p) => RANK[p.priority] <= RANK.viewport);
    const rest = urgent.length ? parts.filter((p) => RANK[p.priority] > RANK.viewport) : parts;
    // Viewport blocks of a frame whose viewport already went (found late: a long page sends what is in view before
    // its walk is done) are keyed with the rest: they then go with the frame's page text (`gather`), not alone.
    const late =
      urgent.length > 0 &&
      rest.length > 0 &&
      urgent.every((p) => this.tabs.get(p.tabId)?.viewportSent?.has(p.frameId));
    const groups = urgent.length && rest.length && !late ? [urgent, rest] : [parts];
    for (const group of groups) {
      // The rest is keyed in a later task, once the viewport's requests are on their way: keying it in between
      // held the first request back by tens of milliseconds.
      if (group !== groups[0]) await nextTask();
      const prepared = await this.prepare(group);
      for (const { part, id, verdict } of prepared) {
        const epoch = epochs.get(part.tabId)!;
        if (this.tabs.get(part.tabId)?.epoch !== epoch) {
          result.skipped++;
          continue;
        }
        const outcome = this.enqueue(part, id, epoch, verdict);
        result[outcome]++;
      }
      this.markDirty();
      this.pump();
    }
    for (const part of urgent) {
      const rec = this.tabs.get(part.tabId);
      if (!rec || rec.epoch !== epochs.get(part.tabId)) continue;
      rec.viewportSent ??= new Set();
      rec.viewportSent.add(part.frameId);
    }
    return result;
  }

  async noteUnchecked(tabId: number, frameId: number, url: string, chars: number): Promise<void> {
    if (!Number.isInteger(tabId) || !Number.isInteger(frameId) || frameId < 0 || typeof url !== 'string')
      badInput('noteUnchecked needs a tab id, a frame id and a URL.');
    if (!Number.isInteger(chars) || chars < 0) badInput('noteUnchecked needs a count of characters.');
    await this.ready();
    if (recordTabUnchecked(this.ensureTab(tabId, url), frameId, chars)) {
      this.dirtyTabs.add(tabId);
      this.markDirty();
    }
  }

  async noteNotChecked(
    tabId: number,
    frameId: number,
    url: string,
    reason: NotCheckedReason | null,
  ): Promise<void> {
    if (!Number.isInteger(tabId) || !Number.isInteger(frameId) || frameId < 0 || typeof url !== 'string')
      badInput('noteNotChecked needs a tab id, a frame id and a URL.');
    if (reason !== null && !isNotCheckedReason(reason))
      badInput('noteNotChecked needs a known reason or null.');
    await this.ready();
    if (recordTabNotChecked(this.ensureTab(tabId, url), frameId, reason)) {
      this.dirtyTabs.add(tabId);
      this.markDirty();
    }
  }

  async check(input: ItemInput, signal?: AbortSignal): Promise<Verdict> {
    validateInput(input);
    this.checkImages([input]);
    if (signal?.aborted) throw new EngineError('aborted', engineSentence('engine_error_cancelled'));
    await this.ready();
    const parts = this.expand(input);
    if (parts.length === 0) throw new EngineError('invalid-input', engineSentence('engine_error_empty'));
    this.refuseIfUnavailable(input.kind);
    const epoch = this.ensureTab(input.tabId, input.url).epoch;
    const prepared = await this.prepare(parts);
    if (signal?.aborted) throw new EngineError('aborted', engineSentence('engine_error_cancelled'));
    if (this.tabs.get(input.tabId)?.epoch !== epoch) {
      throw new EngineError('dropped', engineSentence('engine_error_dropped'));
    }
    const waiters: Array<{ job: Job; waiter: Waiter }> = [];
    const promises = prepared.map(({ part, id, verdict }) => {
      if (verdict) {
        this.enqueue(part, id, epoch, verdict);
        return Promise.resolve(verdict);
      }
      return new Promise<Verdict>((resolve, reject) => {
        const awaited: Awaiting = { resolve, reject };
        this.enqueue(part, id, epoch, undefined, awaited);
        const job = this.jobs.get(id);
        const waiter = job?.waiters.find((w) => w.awaited === awaited);
        if (job && waiter) waiters.push({ job, waiter });
      });
    });
    this.markDirty();
    this.pump();
    if (signal) {
      const onAbort = () => {
        const err = new EngineError('aborted', engineSentence('engine_error_cancelled'));
        for (const { job, waiter } of waiters) this.removeWaiter(job, waiter, err);
        this.markDirty();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const all = Promise.all(promises);
      all.then(
        () => signal.removeEventListener('abort', onAbort),
        () => signal.removeEventListener('abort', onAbort),
      );
      return mergeVerdicts(await all);
    }
    return mergeVerdicts(await Promise.all(promises));
  }

  checkPrompt(input: PromptInput, signal?: AbortSignal): Promise<Verdict> {
    return this.check(
      {
        kind: 'prompt',
        priority: 'prompt',
        tabId: input?.tabId,
        frameId: input?.frameId ?? 0,
        url: input?.url,
        ref: input?.ref ?? 'prompt',
        text: input?.text,
      },
      signal,
    );
  }

  private checkImages(inputs: readonly ItemInput[]): void {
    if (this.opts.maxImages === 0 && inputs.some((i) => i.kind === 'image')) {
      throw new EngineError('invalid-input', engineSentence('engine_error_no_images'));
    }
  }

  /** Fails a waiting check at once when it could only hang. */
  private refuseIfUnavailable(kind: ItemInput['kind']): void {
    const now = this.clock.now();
    if (!this.online) throw new EngineError('offline', engineSentence('engine_error_offline'));
    if (this.breaker.state(now) === 'open') {
      throw new EngineError('circuit-open', failingSentence(this.breaker.reason), {
        retryAt: this.breaker.openUntil ?? undefined,
      });
    }
    if (this.rateLimitedUntil !== null && this.rateLimitedUntil - now > this.opts.promptMaxWaitMs) {
      throw new EngineError('rate-limited', engineSentence('engine_error_rate_limited'), {
        retryAt: this.rateLimitedUntil,
      });
    }
    if (this.overBudget() && (kind !== 'prompt' || this.opts.budgetAppliesToPrompts)) {
      throw new EngineError('budget-paused', engineSentence('engine_error_budget'), {
        retryAt: nextLocalMidnight(now),
      });
    }
  }

  private ensureTab(tabId: number, url: string): TabRecord {
    let rec = this.tabs.get(tabId);
    if (!rec) {
      rec = newTabRecord(url, ++this.epochs);
      this.tabs.set(tabId, rec);
      this.dirtyTabs.add(tabId);
    }
    return rec;
  }

  /** Normalizes an input and splits it into parts that fit one request. */
  private expand(input: ItemInput): ItemInput[] {
    const text = normalizeText(input.text);
    const base: ItemInput = { ...input, text };
    if (input.context !== undefined) base.context = normalizeText(input.context);
    switch (input.kind) {
      case 'text':
        return splitText(text, this.blockBudget).map((t) => ({ ...base, text: t }));
      case 'prompt':
        return splitText(text, this.itemBudget).map((t) => ({ ...base, text: t }));
      case 'reply': {
        if (base.context) base.context = splitText(base.context, Math.floor(this.itemBudget / 2))[0] ?? '';
        const room = this.itemBudget - estimateTokens(base.context ?? '');
        return splitText(text, room).map((t) => ({ ...base, text: t }));
      }
      case 'image': {
        const quarter = Math.floor(this.itemBudget / 4);
        base.text = splitText(text, quarter)[0] ?? '';
        if (base.context) base.context = splitText(base.context, quarter)[0] ?? '';
        return [base];
      }
    }
  }

  /** Keys every part and looks up the ones not already queued. */
  private async prepare(parts: ItemInput[]) {
    const ids = await Promise.all(parts.map((p) => contentKey(p, this.fingerprint)));
    const verdicts = await Promise.all(ids.map((id) => (this.jobs.has(id) ? undefined : this.lookup(id))));
    return parts.map((part, i) => ({ part, id: ids[i]!, verdict: verdicts[i] }));
  }

  private async lookup(id: string): Promise<Verdict | undefined> {
    const recent = this.recent.get(id);
    if (recent) return recent;
    try {
      return await this.cache.get(id);
    } catch {
      return undefined; // an unreadable cache costs a request, never a wrong answer
    }
  }

  private enqueue(
    part: ItemInput,
    id: string,
    epoch: number,
    cached: Verdict | undefined,
    awaited?: Awaiting,
  ): 'queued' | 'cached' | 'merged' {
    const waiter: Waiter = {
      tabId: part.tabId,
      frameId: part.frameId,
      url: part.url,
      ref: part.ref,
      priority: part.priority,
      epoch,
    };
    if (awaited) waiter.awaited = awaited;
    this.dirtyTabs.add(part.tabId);
    const verdict = cached ?? this.recent.get(id);
    const existing = this.jobs.get(id);
    if (verdict && !existing) {
      this.deliver(id, contentOf(part), waiter, verdict);
      return 'cached';
    }
    if (existing) {
      this.addWaiter(existing, waiter);
      return 'merged';
    }
    this.jobs.set(id, {
      id,
      content: contentOf(part),
      tokens: estimateTokens(part.text) + (part.context ? estimateTokens(part.context) : 0),
      priority: part.priority,
      seq: ++this.seq,
      attempts: 0,
      solo: false,
      waiters: [waiter],
      inflight: false,
    });
    return 'queued';
  }

  private addWaiter(job: Job, waiter: Waiter): void {
    const same = job.waiters.find(
      (w) => w.tabId === waiter.tabId && w.ref === waiter.ref && w.epoch === waiter.epoch && !w.awaited,
    );
    if (same && !waiter.awaited) {
      if (RANK[waiter.priority] < RANK[same.priority]) same.priority = waiter.priority;
    } else {
      job.waiters.push(waiter);
    }
    if (RANK[waiter.priority] < RANK[job.priority]) job.priority = waiter.priority;
  }

  private removeWaiter(job: Job, waiter: Waiter, err: unknown): void {
    const i = job.waiters.indexOf(waiter);
    if (i < 0) return;
    job.waiters.splice(i, 1);
    waiter.awaited?.reject(err);
    this.dirtyTabs.add(waiter.tabId);
    if (job.waiters.length === 0 && !job.inflight && this.jobs.get(job.id) === job) this.jobs.delete(job.id);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Tabs

  dropTab(tabId: number): void {
    if (!this.restored) {
      this.afterRestore.push(() => this.dropTab(tabId));
      return;
    }
    this.forgetTabItems(tabId, new EngineError('dropped', engineSentence('engine_error_tab_closed')));
    if (this.tabs.delete(tabId)) {
      this.dirtyTabs.delete(tabId);
      this.emit(this.listeners.tab, tabId, null);
    }
    this.markDirty();
  }

  navigated(tabId: number, url: string): void {
    if (!this.restored) {
      this.afterRestore.push(() => this.navigated(tabId, url));
      return;
    }
    if (!Number.isInteger(tabId) || typeof url !== 'string') badInput('navigated needs a tab id and a URL.');
    this.forgetTabItems(tabId, new EngineError('dropped', engineSentence('engine_error_tab_navigated')));
    this.tabs.set(tabId, newTabRecord(url, ++this.epochs));
    this.dirtyTabs.add(tabId);
    this.markDirty();
  }

  private forgetTabItems(tabId: number, err: EngineError): void {
    for (const job of [...this.jobs.values()]) {
      for (const w of job.waiters.filter((x) => x.tabId === tabId)) this.removeWaiter(job, w, err);
    }
  }

  tabState(tabId: number): TabState | undefined {
    const rec = this.tabs.get(tabId);
    return rec ? this.publicTabState(tabId, rec) : undefined;
  }

  tabIds(): number[] {
    return [...this.tabs.keys()];
  }

  /** Items still waiting for a verdict, per tab (current page only), in one pass over the queue. */
  private pendingCounts(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const job of this.jobs.values()) {
      for (const w of job.waiters) {
        if (this.tabs.get(w.tabId)?.epoch === w.epoch) counts.set(w.tabId, (counts.get(w.tabId) ?? 0) + 1);
      }
    }
    return counts;
  }

  private publicTabState(tabId: number, rec: TabRecord, pending = this.pendingCounts()): TabState {
    const state = cloneTabState(rec.state);
    state.pending = pending.get(tabId) ?? 0;
    return state;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Dispatch

  setOnline(online: boolean): void {
    this.online = !!online;
    if (!this.online) {
      this.rejectAwaited(() => new EngineError('offline', engineSentence('engine_error_offline')));
    }
    this.scheduleNotify();
    this.pump();
  }

  /**
   * The endpoint asked for a pause that the classifier is waiting out itself (a 429 or 503 with `Retry-After`
   * its HTTP client retries after): send nothing until `until` (epoch ms), not even the next step of a chunk
   * being bisected. Requests already under way go on. A later time than one already known extends the pause;
   * an earlier one changes nothing.
   */
  pauseUntil(until: number, reason: string = ENGINE_TEMPLATES.engine_status_asked_to_wait): void {
    if (typeof until !== 'number' || !Number.isFinite(until))
      badInput('pauseUntil needs a time in epoch ms.');
    if (this.disposed || until <= this.clock.now()) return;
    this.holdUntil(until, String(reason));
    this.pump();
  }

  /** Sends nothing before `until`; a waiting check that would wait longer than it may is told now. */
  private holdUntil(until: number, reason: string, cause?: unknown): void {
    if (this.rateLimitedUntil !== null && this.rateLimitedUntil >= until) return;
    const now = this.clock.now();
    this.rateLimitedUntil = until;
    this.rateLimitReason = reason;
    if (until - now > this.opts.promptMaxWaitMs) {
      this.rejectAwaited(
        () =>
          new EngineError('rate-limited', engineSentence('engine_error_rate_limited'), {
            retryAt: until,
            ...(cause === undefined ? {} : { cause }),
          }),
      );
    }
    this.markDirty();
  }

  /** Resolves once no rate limit holds requests back (at once when none does); `false` when aborted. */
  private waitOutRateLimit(signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (signal.aborted || this.disposed) return resolve(false);
        const now = this.clock.now();
        if (this.rateLimitedUntil === null || this.rateLimitedUntil <= now) return resolve(true);
        const timer = this.clock.setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          check();
        }, this.rateLimitedUntil - now);
        const onAbort = () => {
          this.clock.clearTimeout(timer);
          resolve(false);
        };
        signal.addEventListener('abort', onAbort, { once: true });
      };
      check();
    });
  }

  private overBudget(): boolean {
    const budget = this.opts.dailyBudgetUsd;
    return budget !== null && this.today.costUsd >= budget;
  }

  private rollDay(now: number): void {
    const day = localDay(now);
    if (day !== this.today.day) {
      this.today = emptyDay(day);
      this.markDirty();
    }
  }

  /** Which queued items may be sent now. */
  private gate(now: number): 'none' | 'prompts' | 'all' {
    if (!this.online || this.rekeying > 0 || !this.restored) return 'none';
    if (this.rateLimitedUntil !== null) {
      if (this.rateLimitedUntil > now) return 'none';
      this.rateLimitedUntil = null;
      this.rateLimitReason = undefined;
      this.markDirty();
    }
    if (this.breaker.state(now) === 'open') return 'none';
    if (this.overBudget()) return this.opts.budgetAppliesToPrompts ? 'none' : 'prompts';
    return 'all';
  }

  private pump(): void {
    if (this.disposed) return;
    const now = this.clock.now();
    this.rollDay(now);
    for (;;) {
      const gate = this.gate(now);
      if (gate === 'none') break;
      // One request beyond the limit is kept for a prompt: a person waiting at a send never waits for page
      // chunks (and their bisections) to hand a slot back.
      const full = this.requests >= this.opts.concurrency;
      if (full && this.promptRequests > 0) break;
      const lead = this.pickNext(gate === 'prompts' || full, now);
      // A chunk's search goes on before new work of its level or below: its parts are what a person waits for.
      const waiter = gate === 'all' && !full ? this.bestSlotWaiter() : undefined;
      if (waiter && (!lead || outranks(waiter, lead))) {
        this.slotWaiters.splice(this.slotWaiters.indexOf(waiter), 1);
        this.requests++;
        waiter.grant();
        continue;
      }
      if (!lead) break;
      // Below-the-fold text and images leave the slots to the viewport's search while one may need them: a page
      // chunk that took a slot in the first round would hold it while a flagged part of the viewport waits.
      if (this.viewportSearches > 0 && RANK[lead.priority] > RANK.viewport) break;
      if (!this.breaker.tryAcquire(now)) break;
      this.start(this.gather(lead));
    }
    this.scheduleWake(now);
    this.scheduleNotify();
  }

  private bestSlotWaiter(): SlotWaiter | undefined {
    let best: SlotWaiter | undefined;
    for (const w of this.slotWaiters) if (!best || outranks(w, best)) best = w;
    return best;
  }

  /**
   * One more request slot for a part of a chunk's search, granted by `pump` in priority order (before new work
   * of the same level) while fewer than `concurrency` requests are under way — never the one kept for prompts.
   * `false` when `signal` aborts first. A granted slot is given back with `releaseSlot`.
   */
  private acquireSlot(priority: Priority, seq: number, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted || this.disposed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter: SlotWaiter = {
        priority,
        seq,
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(true);
        },
      };
      const onAbort = () => {
        const at = this.slotWaiters.indexOf(waiter);
        if (at !== -1) this.slotWaiters.splice(at, 1);
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.slotWaiters.push(waiter);
      this.pump();
    });
  }

  private releaseSlot(): void {
    this.requests--;
    this.pump();
  }

  private pickNext(promptsOnly: boolean, now: number): Job | undefined {
    let best: Job | undefined;
    for (const job of this.jobs.values()) {
      if (job.inflight || job.waiters.length === 0 || (job.notBefore ?? 0) > now) continue;
      if (promptsOnly && job.content.kind !== 'prompt') continue;
      if (
        !best ||
        RANK[job.priority] < RANK[best.priority] ||
        (job.priority === best.priority && job.seq < best.seq)
      ) {
        best = job;
      }
    }
    return best;
  }

  /**
   * The lead item and, for page text, its queued neighbours of the same tab, frame and priority. A few viewport
   * blocks that would go alone (under `MIN_VIEWPORT_CHUNK_TOKENS`: blocks in view found late) take the frame's
   * queued page text along, as far as the chunk budget goes: a request of their own would repeat the policy
   * header for a few words, and the page text needs one request fewer.
   */
  private gather(lead: Job): Job[] {
    if (lead.content.kind !== 'text' || lead.solo) return [lead];
    const candidates = this.neighbours(lead, lead.priority);
    const chunk = packBlocks([lead, ...candidates], this.chunkBudgetFor(lead, candidates))[0]!;
    if (
      this.searchesInParallel(lead.priority) &&
      chunk.length === candidates.length + 1 &&
      tokensOf(chunk) < MIN_VIEWPORT_CHUNK_TOKENS
    ) {
      const page = this.neighbours(lead, 'page');
      if (page.length > 0) return packBlocks([...chunk, ...page], this.blockBudget)[0]!;
    }
    return chunk;
  }

  /** Queued text of `priority` from the lead's tab and frame that may go with it, oldest first. */
  private neighbours(lead: Job, priority: Priority): Job[] {
    const home = lead.waiters[0]!;
    const found: Job[] = [];
    for (const job of this.jobs.values()) {
      if (job === lead || job.inflight || job.solo || job.content.kind !== 'text') continue;
      if ((job.notBefore ?? 0) > this.clock.now()) continue;
      if (job.priority !== priority) continue;
      const w = job.waiters[0];
      if (!w || w.tabId !== home.tabId || w.frameId !== home.frameId) continue;
      found.push(job);
    }
    return found.sort((a, b) => a.seq - b.seq);
  }

  /**
   * The token budget of the chunk `lead` starts. Viewport text under the parallel strategy is spread over the
   * request slots free now (this one included), as far as each part keeps `MIN_VIEWPORT_CHUNK_TOKENS`: what the
   * person sees is all asked about in the first round trip, in parts small enough to be searched quickly.
   */
  private chunkBudgetFor(lead: Job, candidates: readonly Job[]): number {
    if (!this.searchesInParallel(lead.priority)) return this.blockBudget;
    const total = tokensOf([lead, ...candidates]);
    const free = Math.max(1, this.opts.concurrency - this.requests);
    const parts = Math.max(1, Math.min(free, Math.floor(total / MIN_VIEWPORT_CHUNK_TOKENS)));
    return Math.min(this.blockBudget, Math.max(MIN_VIEWPORT_CHUNK_TOKENS, Math.ceil(total / parts)));
  }

  /** Chunks of this priority are searched k ways at once. */
  private searchesInParallel(priority: Priority): boolean {
    return this.opts.strategy === 'parallel' && priority === 'viewport' && this.opts.concurrency >= 2;
  }

  private start(group: Job[]): void {
    const gen = this.gen;
    const probe = this.breaker.state(this.clock.now()) === 'half-open';
    const ctrl = new AbortController();
    this.controllers.add(ctrl);
    this.requests++;
    const prompt = group[0]!.content.kind === 'prompt';
    if (prompt) this.promptRequests++;
    for (const job of group) job.inflight = true;
    const home = group[0]!.waiters[0];
    const homeTab = home ? { tabId: home.tabId, epoch: home.epoch } : undefined;
    const ours = (job: Job) => gen === this.gen && this.jobs.get(job.id) === job;

    const lead = group[0]!;
    const parallel = group.length > 1 && this.searchesInParallel(lead.priority);
    if (parallel) this.viewportSearches++;
    const ask = async (jobs: Job[]): Promise<ClassifyResult> => {
      // The next step of a bisection waits out a rate limit that started while the chunk was under way.
      if (!(await this.waitOutRateLimit(ctrl.signal))) throw STOP;
      // Settings changed, the engine stopped, or nobody wants these blocks any more: no further requests.
      if (gen !== this.gen || this.disposed || jobs.every((j) => j.waiters.length === 0)) throw STOP;
      const turns =
        jobs.length === 1 ? itemTurns(jobs[0]!.content) : chunkTurns(jobs.map((j) => j.content.text));
      let result: ClassifyResult;
      try {
        result = await this.classify(turns, ctrl.signal);
      } catch (err) {
        // The endpoint answered, but not usably: the answer is billed all the same.
        const answered = asClassifierError(err).answered;
        if (answered) this.countResponse(answered, homeTab);
        throw err;
      }
      this.countResponse(result, homeTab);
      if (!result || !isVerdict(result.verdict)) {
        throw Object.assign(new Error('The classifier returned something that is not a verdict.'), {
          kind: 'bad-output',
          retryable: false,
        });
      }
      if (gen === this.gen) {
        this.breaker.onSuccess();
        this.lastContentFailure = null;
      }
      return result;
    };
    const onVerdict = (job: Job, verdict: Verdict) => {
      if (ours(job)) this.finish(job, verdict, false);
    };
    const run = parallel
      ? runChunkParallel(group, {
          ask,
          onVerdict,
          ways: this.opts.concurrency,
          acquire: (signal) => this.acquireSlot(lead.priority, lead.seq, signal),
          // Every slot, the chunk's own included, comes back through here.
          release: () => this.releaseSlot(),
        })
      : runChunk(group, { ask, onVerdict });
    run
      .catch((err) => {
        if (err !== STOP && !this.disposed && gen === this.gen) this.fail(group.filter(ours), err, homeTab);
      })
      .finally(() => {
        if (probe) this.breaker.release();
        this.controllers.delete(ctrl);
        if (!parallel) this.requests--;
        if (parallel) this.viewportSearches--;
        if (prompt) this.promptRequests--;
        for (const job of group) job.inflight = false;
        // Queued items whose every waiter went away while they were in flight.
        for (const job of group) if (ours(job) && job.waiters.length === 0) this.jobs.delete(job.id);
        this.markDirty();
        this.pump();
      });
  }

  private countResponse(
    result: Pick<ClassifyResult, 'usage' | 'costUsd'>,
    home: { tabId: number; epoch: number } | undefined,
  ): void {
    const usage = result?.usage;
    const promptTokens = finiteOr0(usage?.promptTokens);
    const completionTokens = finiteOr0(usage?.completionTokens);
    let cost = finiteOr0(result?.costUsd);
    if (result?.costUsd === undefined && this.opts.estimateCostUsd) {
      cost = finiteOr0(this.opts.estimateCostUsd({ promptTokens, completionTokens }));
    }
    this.rollDay(this.clock.now());
    this.today.requests++;
    this.today.promptTokens += promptTokens;
    this.today.completionTokens += completionTokens;
    this.today.costUsd += cost;
    const rec = home && this.tabs.get(home.tabId);
    if (rec && home && rec.epoch === home.epoch) {
      recordTabUsage(rec, promptTokens + completionTokens, cost);
      this.dirtyTabs.add(home.tabId);
    }
    this.markDirty();
  }

  /** Records a verdict for a job: remembered, cached, delivered to every waiter. */
  private finish(job: Job, verdict: Verdict, fromCache: boolean): void {
    if (this.jobs.get(job.id) === job) this.jobs.delete(job.id);
    this.remember(job.id, verdict);
    if (!fromCache) this.cache.set(job.id, verdict).catch(() => {});
    for (const w of job.waiters) this.deliver(job.id, job.content, w, verdict);
    this.markDirty();
  }

  private remember(id: string, verdict: Verdict): void {
    this.recent.delete(id);
    this.recent.set(id, verdict);
    if (this.recent.size > RECENT_VERDICTS) this.recent.delete(this.recent.keys().next().value as string);
  }

  private deliver(id: string, content: ItemContent, waiter: Waiter, verdict: Verdict): void {
    const rec = this.tabs.get(waiter.tabId);
    if (!rec || rec.epoch !== waiter.epoch) return;
    const item = workItem(id, content, waiter);
    if (recordTabVerdict(rec, item, verdict, this.opts.snippetLength)) this.dirtyTabs.add(waiter.tabId);
    const copy = {
      ...verdict,
      categories: [...verdict.categories],
      unknownCategories: [...verdict.unknownCategories],
    };
    this.emit(this.listeners.verdict, item, copy);
    waiter.awaited?.resolve(copy);
  }

  private fail(live: Job[], err: unknown, home: { tabId: number; epoch: number } | undefined): void {
    const e = asClassifierError(err);
    const now = this.clock.now();
    const message = `${e.kind}: ${e.message}`;
    const rec = home && this.tabs.get(home.tabId);
    if (rec && home && rec.epoch === home.epoch) {
      recordTabError(rec, message);
      this.dirtyTabs.add(home.tabId);
    }
    if (err instanceof EngineError) {
      // The engine could not even build the request: the item itself is bad.
      this.breaker.release();
      for (const job of live) this.giveUp(job, err);
      return;
    }
    if (e.retryAt !== undefined || e.kind === 'rate-limited') {
      this.breaker.release();
      this.holdUntil(Math.max(e.retryAt ?? now + this.opts.rateLimitWaitMs, now + 1), e.message, err);
      return;
    }
    // Refusals of the content: unless different content was refused just before, or the circuit is not closed
    // (then it is the endpoint that cannot answer — a model that is not Llama Guard, a proxy's size limit — and items wait for it instead).
    let aboutContent = !e.retryable && CONTENT_ERRORS.has(e.kind);
    if (aboutContent) {
      const before = this.lastContentFailure;
      // While the circuit is open or probing, the endpoint is in question already.
      if (this.breaker.state(now) !== 'closed') aboutContent = false;
      else if (before && !live.some((job) => before.has(job.id))) aboutContent = false;
      else this.lastContentFailure = new Set(live.map((job) => job.id));
    }
    if (aboutContent) this.breaker.release();
    else {
      this.breaker.onFailure(now, message, {
        permanent: PERMANENT_ERRORS.has(e.kind) || CONTENT_ERRORS.has(e.kind),
      });
      // The classifier has retried already (the guard client makes three attempts): these items wait a moment
      // before they go again, even while the circuit stays closed.
      for (const job of live) job.notBefore = now + this.retryDelay();
    }
    // A caller waiting on one of these items is told now rather than left waiting for a recovery.
    for (const job of live) {
      for (const w of job.waiters.filter((x) => x.awaited)) this.removeWaiter(job, w, err);
    }
    if (aboutContent) {
      for (const job of live) {
        if (this.jobs.get(job.id) !== job) continue;
        if (live.length > 1 && !job.solo) {
          job.solo = true; // find which one it is: each goes alone next
        } else if (++job.attempts >= this.opts.maxItemAttempts) {
          this.giveUp(job, err);
        } else {
          // Asked again at once, a model at temperature 0 would most likely refuse again: wait, longer each time.
          job.notBefore = now + this.retryDelay() * job.attempts;
        }
      }
    }
    if (this.breaker.state(now) === 'open') {
      const retryAt = this.breaker.openUntil ?? undefined;
      this.rejectAwaited(
        () => new EngineError('circuit-open', failingSentence(message), { retryAt, cause: err }),
      );
    }
  }

  /** The wait before an item whose request failed goes again: the circuit breaker's first wait. */
  private retryDelay(): number {
    return this.opts.breaker?.baseBackoffMs ?? DEFAULT_BREAKER.baseBackoffMs;
  }

  private giveUp(job: Job, err: unknown): void {
    if (this.jobs.get(job.id) === job) this.jobs.delete(job.id);
    const message = `${asClassifierError(err).kind}: ${asClassifierError(err).message}`;
    for (const w of job.waiters) {
      const rec = this.tabs.get(w.tabId);
      if (rec && rec.epoch === w.epoch) {
        recordTabError(rec, message);
        this.dirtyTabs.add(w.tabId);
      }
      w.awaited?.reject(err);
      this.emit(this.listeners.itemError, workItem(job.id, job.content, w), err);
    }
    job.waiters = [];
    this.markDirty();
  }

  /** Rejects every caller waiting on a check, and forgets their items. */
  private rejectAwaited(makeError: () => unknown): void {
    for (const job of [...this.jobs.values()]) {
      for (const w of job.waiters.filter((x) => x.awaited)) this.removeWaiter(job, w, makeError());
    }
    this.markDirty();
  }

  private scheduleWake(now: number): void {
    const times: number[] = [];
    if (this.rateLimitedUntil !== null && this.rateLimitedUntil > now) times.push(this.rateLimitedUntil);
    const openUntil = this.breaker.openUntil;
    if (openUntil !== null && openUntil > now) times.push(openUntil);
    if (this.overBudget() && this.jobs.size > 0) times.push(nextLocalMidnight(now));
    for (const job of this.jobs.values()) {
      if (job.notBefore !== undefined && job.notBefore > now && job.waiters.length > 0)
        times.push(job.notBefore);
    }
    const at = times.length > 0 ? Math.min(...times) : null;
    if (at === this.wakeAt) return;
    if (this.wakeTimer !== null) this.clock.clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    this.wakeAt = at;
    if (at !== null) {
      this.wakeTimer = this.clock.setTimeout(() => {
        this.wakeTimer = null;
        this.wakeAt = null;
        this.pump();
      }, at - now);
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Settings

  async reconfigure(options: ReconfigureOptions): Promise<void> {
    await this.ready();
    if (options.classify !== undefined && typeof options.classify !== 'function')
      badInput('classify must be a function.');
    if (
      options.fingerprint !== undefined &&
      (typeof options.fingerprint !== 'string' || !options.fingerprint)
    ) {
      badInput('fingerprint must be a non-empty string.');
    }
    this.applyOptions(options);
    const fpChanged = options.fingerprint !== undefined && options.fingerprint !== this.fingerprint;
    const afresh = options.breaker !== undefined || options.classify !== undefined || fpChanged;
    if (afresh) {
      this.breaker = new CircuitBreaker(this.opts.breaker);
      this.rateLimitedUntil = null;
      this.rateLimitReason = undefined;
      this.lastContentFailure = null;
      for (const job of this.jobs.values()) delete job.notBefore;
    }
    if (options.classify) this.classify = options.classify;
    if (fpChanged) {
      this.gen++;
      for (const ctrl of this.controllers) ctrl.abort();
      this.fingerprint = options.fingerprint!;
      this.recent.clear();
      const old = [...this.jobs.values()];
      this.jobs.clear();
      this.rekeying++;
      try {
        await this.cache.clearIfFingerprintChanged(this.fingerprint);
        for (const job of await this.rekey(old)) {
          delete job.notBefore;
          this.insertJob(job);
        }
      } finally {
        this.rekeying--;
      }
    }
    this.markDirty();
    this.pump();
  }

  // -------------------------------------------------------------------------------------------------------------
  // Status

  status(): EngineStatus {
    const now = this.clock.now();
    this.rollDay(now);
    let pending = 0;
    let inFlight = 0;
    for (const job of this.jobs.values()) {
      if (job.inflight) inFlight += job.waiters.length;
      else pending += job.waiters.length;
    }
    const { day: _day, ...today } = this.today;
    const status: EngineStatus = { state: 'ok', pending, inFlight, today };
    if (this.opts.dailyBudgetUsd !== null) status.budgetUsd = this.opts.dailyBudgetUsd;
    const breakerState = this.breaker.state(now);
    let reason: ErrorSentence | undefined;
    if (!this.online) {
      status.state = 'offline';
      reason = engineSentence('engine_error_offline');
    } else if (breakerState !== 'closed') {
      status.state = 'circuit-open';
      const n = this.breaker.failures;
      const last = this.breaker.reason?.indexOf(': ') ?? -1;
      const key = `engine_status_failures_${n === 1 ? 'one' : 'many'}${last > 0 ? '_last' : ''}${
        breakerState === 'half-open' ? '_retrying' : ''
      }` as EngineTextKey;
      reason =
        last > 0
          ? engineSentence(key, n, this.breaker.reason!.slice(0, last), this.breaker.reason!.slice(last + 2))
          : engineSentence(key, n);
      if (this.breaker.openUntil !== null) status.until = this.breaker.openUntil;
    } else if (this.rateLimitedUntil !== null && this.rateLimitedUntil > now) {
      status.state = 'rate-limited';
      const said = this.rateLimitReason;
      const text = said === undefined ? undefined : parseEngineReason(said);
      reason =
        said === undefined
          ? engineSentence('engine_error_rate_limited')
          : text
            ? { english: said, text }
            : undefined;
      if (said !== undefined && !text) status.reason = said;
      status.until = this.rateLimitedUntil;
    } else if (this.overBudget()) {
      status.state = 'budget-paused';
      reason = engineSentence(
        this.opts.budgetAppliesToPrompts ? 'engine_status_budget_prompts' : 'engine_status_budget',
        `$${this.today.costUsd.toFixed(4)}`,
        `$${this.opts.dailyBudgetUsd!.toFixed(2)}`,
      );
      status.until = nextLocalMidnight(now);
    }
    if (reason) {
      status.reason = reason.english;
      status.reasonText = reason.text;
    }
    return status;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Notifications and persistence

  private scheduleNotify(): void {
    if (this.notifyScheduled || this.disposed) return;
    this.notifyScheduled = true;
    Promise.resolve().then(() => {
      this.notifyScheduled = false;
      if (this.disposed) return;
      const pending = this.pendingCounts();
      for (const tabId of this.dirtyTabs) {
        const rec = this.tabs.get(tabId);
        if (rec) this.emit(this.listeners.tab, tabId, this.publicTabState(tabId, rec, pending));
      }
      this.dirtyTabs.clear();
      const status = this.status();
      const json = JSON.stringify(status);
      if (json !== this.lastStatusJson) {
        this.lastStatusJson = json;
        this.emit(this.listeners.status, status);
      }
    });
  }

  private markDirty(): void {
    this.dirty = true;
    this.writeFailed = false;
    this.scheduleNotify();
    this.scheduleWrite();
  }

  /**
   * The state is written at most once per `STATE_WRITE_INTERVAL_MS`, from a timer of its own: a write serializes
   * every queued block (and wakes every `storage.onChanged` listener with the old and the new copy), so done in the
   * middle of a search it would hold back the next request; done this way it comes after it.
   */
  private scheduleWrite(): void {
    if (this.writeTimer !== null || this.writing || this.disposed || !this.restored) return;
    const wait = Math.max(
      STATE_WRITE_DELAY_MS,
      this.lastWriteAt + STATE_WRITE_INTERVAL_MS - this.clock.now(),
    );
    this.writeTimer = this.clock.setTimeout(() => {
      this.writeTimer = null;
      this.startWrite();
    }, wait);
  }

  private startWrite(): void {
    if (this.writeTimer !== null) this.clock.clearTimeout(this.writeTimer);
    this.writeTimer = null;
    if (this.writing || this.disposed || !this.restored || !this.dirty) return;
    this.dirty = false;
    this.writeFailed = false;
    this.lastWriteAt = this.clock.now();
    this.writing = (async () => {
      try {
        await this.stateStore.set(this.stateKey, this.snapshot());
      } catch {
        // storage.session can refuse (quota): the next change tries again with everything.
        this.dirty = true;
        this.writeFailed = true;
      }
    })().finally(() => {
      this.writing = null;
      if (this.dirty && !this.writeFailed) this.scheduleWrite();
    });
  }

  /** Writes the state now (and waits for any write under way). */
  async flush(): Promise<void> {
    if (this.restoring) await this.restoring;
    for (let i = 0; i < 10 && !this.disposed; i++) {
      if (this.writing) await this.writing;
      else if (this.dirty) this.startWrite();
      else return;
    }
  }

  /** The persisted form: everything but callers waiting on checks. */
  snapshot(): EngineSnapshot {
    const jobs: PersistedJob[] = [];
    const now = this.clock.now();
    for (const job of this.jobs.values()) {
      const waiters = job.waiters.filter((w) => !w.awaited).map(({ awaited: _a, ...w }) => w);
      if (waiters.length === 0) continue;
      jobs.push({
        id: job.id,
        content: job.content,
        tokens: job.tokens,
        priority: job.priority,
        seq: job.seq,
        attempts: job.attempts,
        solo: job.solo,
        ...(job.notBefore !== undefined && job.notBefore > now ? { notBefore: job.notBefore } : {}),
        waiters,
      });
    }
    const tabs: EngineSnapshot['tabs'] = {};
    const pending = this.pendingCounts();
    for (const [tabId, rec] of this.tabs) {
      tabs[tabId] = {
        epoch: rec.epoch,
        state: this.publicTabState(tabId, rec, pending),
        seen: [...rec.seen],
      };
    }
    const snap: EngineSnapshot = {
      v: SNAPSHOT_VERSION,
      fingerprint: this.fingerprint,
      seq: this.seq,
      jobs,
      tabs,
      today: { ...this.today },
      rateLimitedUntil: this.rateLimitedUntil,
      breaker: this.breaker.snapshot(),
    };
    if (this.rateLimitReason !== undefined) snap.rateLimitReason = this.rateLimitReason;
    return snap;
  }

  dispose(): void {
    if (this.disposed) return;
    const err = new EngineError('disposed', engineSentence('engine_error_stopped'));
    this.rejectAwaited(() => err);
    this.disposed = true;
    for (const ctrl of this.controllers) ctrl.abort();
    if (this.wakeTimer !== null) this.clock.clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    if (this.writeTimer !== null) this.clock.clearTimeout(this.writeTimer);
    this.writeTimer = null;
  }
}

/** Tokens of a chunk's text, separators included. */
function tokensOf(jobs: readonly Job[]): number {
  let total = 0;
  for (const job of jobs) total += job.tokens;
  return total + SEPARATOR_TOKENS * Math.max(0, jobs.length - 1);
}

/**
 * Resolves in a later task (a message to itself: not a timer, which a background may clamp and tests fake), after
 * what the current task started — a request on its way to `fetch` — has run.
 */
function nextTask(): Promise<void> {
  if (typeof MessageChannel !== 'function') return new Promise((resolve) => setTimeout(resolve, 0));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

function contentOf(part: ItemInput): ItemContent {
  const c: ItemContent = { kind: part.kind, text: part.text };
  if (part.imageUrl !== undefined) c.imageUrl = part.imageUrl;
  if (part.imageData !== undefined) c.imageData = part.imageData;
  if (part.context !== undefined) c.context = part.context;
  return c;
}

function workItem(id: string, content: ItemContent, w: PersistedWaiter): WorkItem {
  return {
    id,
    ...content,
    tabId: w.tabId,
    frameId: w.frameId,
    url: w.url,
    ref: w.ref,
    priority: w.priority,
  };
}
