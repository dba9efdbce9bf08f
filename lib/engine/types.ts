/**
 * The scan engine's data model. Pure types plus a few validators; everything here is plain JSON so the
 * background can persist it in `storage.session` and pass it over extension messaging.
 *
 * Public API:
 * - `ItemKind`, `Priority`, `PRIORITIES` (highest first), `ItemContent`, `ItemInput`, `WorkItem`: one thing to
 *   classify, identified by its content key.
 * - `FlaggedItem`, `TabState`, `emptyTabState(url)`: what one tab has been found to contain.
 * - `Usage`, `ClassifyResult`, `Classify`: the injected classifier's contract.
 * - `ClassifierErrorLike`, `asClassifierError(err)`: the duck-typed errors the classifier throws.
 * - `EngineError`, `EngineErrorKind`: the engine's own typed errors (bad input, paused, dropped…).
 * - `Clock`, `systemClock`: time and timers, injected so tests run on fake timers.
 * - `StateStore`, `MemoryStateStore`: where the scheduler persists pending work and tab state (JSON values).
 */
import type { ErrorSentence } from '../guard/error-text';
import type { ConversationTurn, Verdict } from '../guard/types';
import type { MessageText } from '../text';

export type ItemKind = 'text' | 'image' | 'prompt' | 'reply';
export const ITEM_KINDS: readonly ItemKind[] = ['text', 'image', 'prompt', 'reply'];

/** Scheduling levels, highest first: a prompt the person is about to send, then what they see, then the rest. */
export type Priority = 'prompt' | 'viewport' | 'page' | 'image';
export const PRIORITIES: readonly Priority[] = ['prompt', 'viewport', 'page', 'image'];

/** What is classified: the part of an item its content key is made of. */
export interface ItemContent {
  kind: ItemKind;
  /** The text; for an image, its alt text or caption may go here or in `context`. */
  text: string;
  /** An image the endpoint can fetch. */
  imageUrl?: string;
  /** An image as a `data:` URL (preferred over `imageUrl` when both are set). */
  imageData?: string;
  /** Alt text or caption of an image; the user prompt a reply answers. */
  context?: string;
}

/** Where an item was found and how urgent it is. */
export interface ItemPlace {
  tabId: number;
  frameId: number;
  url: string;
  /** Opaque id the content script uses for the element. Parts of one split block share it. */
  ref: string;
  priority: Priority;
}

/** An item as submitted, before it has a key. */
export type ItemInput = ItemContent & ItemPlace;

/** A unit of work: its `id` is its content key (same content anywhere → same id). */
export interface WorkItem extends ItemInput {
  id: string;
}

/** One flagged element of a tab, as the popup and the page need it. */
export interface FlaggedItem {
  /** The frame the element is in (0: the top document). A `ref` is unique within its frame only. */
  frameId: number;
  ref: string;
  kind: ItemKind;
  /** Category codes, e.g. `['S1', 'S10']`. */
  categories: string[];
  /** The start of the flagged text (or the image's alt text / URL), for the popup. */
  snippet: string;
}

/**
 * Per-tab state. The background stores it in `storage.session` under `tab:<tabId>`.
 * `scanned` counts items (block parts, images, prompts) that have a verdict; `pending` those still waiting;
 * `errors` counts failed requests for the tab plus items given up on; `tokens`/`costUsd` add up the real
 * responses made for the tab (cache hits cost nothing).
 */
export interface TabState {
  url: string;
  scanned: number;
  pending: number;
  flagged: FlaggedItem[];
  /** Flagged elements per category code. */
  categoryCounts: Record<string, number>;
  errors: number;
  /** The last error, for the popup. */
  lastError?: string;
  tokens: number;
  costUsd: number;
  /**
   * Characters of page text left unchecked, by frame id: a page with more text than the content script sends
   * per page state (`MAX_CHARS_PER_PAGE`). Absent when everything was sent. See `uncheckedChars(state)`.
   */
  unchecked?: Record<string, number>;
  /**
   * Frames whose page scan could not start or stopped, by frame id, with the reason (`NotCheckedReason`): such a
   * page is never shown as clean. Absent when every frame's scan runs. See `notCheckedReasons(state)`.
   */
  notChecked?: Record<string, NotCheckedReason>;
}

/**
 * Why a frame's page scan is not running as it should:
 * - `scan-error`: an error stopped the scan of (part of) the page;
 * - `loading`: the document has not finished loading; what it shows so far is checked, and the rest as it comes.
 */
export const NOT_CHECKED_REASONS = ['scan-error', 'loading'] as const;
export type NotCheckedReason = (typeof NOT_CHECKED_REASONS)[number];

export function isNotCheckedReason(value: unknown): value is NotCheckedReason {
  return (NOT_CHECKED_REASONS as readonly unknown[]).includes(value);
}

/** The reasons some frame of the tab was not (fully) checked, each once, in `NOT_CHECKED_REASONS` order. */
export function notCheckedReasons(state: Pick<TabState, 'notChecked'> | undefined): NotCheckedReason[] {
  const found = new Set(Object.values(state?.notChecked ?? {}));
  return NOT_CHECKED_REASONS.filter((r) => found.has(r));
}

/** Characters of the tab's page text that were left unchecked, over all its frames. */
export function uncheckedChars(state: Pick<TabState, 'unchecked'> | undefined): number {
  let total = 0;
  for (const n of Object.values(state?.unchecked ?? {})) total += n;
  return total;
}

export function emptyTabState(url: string): TabState {
  return { url, scanned: 0, pending: 0, flagged: [], categoryCounts: {}, errors: 0, tokens: 0, costUsd: 0 };
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export interface ClassifyResult {
  verdict: Verdict;
  usage: Usage;
  costUsd?: number;
  latencyMs: number;
}

/** The injected classifier: one request to the endpoint. */
export type Classify = (turns: ConversationTurn[], signal?: AbortSignal) => Promise<ClassifyResult>;

/** What the classifier throws (a `GuardError`; duck-typed so the engine does not depend on the client). */
export interface ClassifierErrorLike {
  kind: string;
  retryable: boolean;
  retryAt?: number;
  status?: number;
  message: string;
  /** The endpoint answered (HTTP 200) but the answer could not be used: what it reported, billed all the same. */
  answered?: { usage: Usage; costUsd?: number };
}

function readAnswered(x: unknown): ClassifierErrorLike['answered'] {
  const a = (x as { answered?: unknown } | null)?.answered as
    | { usage?: Partial<Usage>; costUsd?: unknown }
    | undefined;
  if (!a || typeof a !== 'object' || !a.usage || typeof a.usage !== 'object') return undefined;
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
  const out: NonNullable<ClassifierErrorLike['answered']> = {
    usage: { promptTokens: n(a.usage.promptTokens), completionTokens: n(a.usage.completionTokens) },
  };
  if (typeof a.costUsd === 'number' && Number.isFinite(a.costUsd) && a.costUsd >= 0) out.costUsd = a.costUsd;
  return out;
}

/** Reads a thrown value as a classifier error; anything unrecognised is a non-retryable 'unknown' error. */
export function asClassifierError(err: unknown): ClassifierErrorLike {
  if (err && typeof err === 'object') {
    const e = err as Partial<ClassifierErrorLike> & { message?: unknown };
    const message = typeof e.message === 'string' ? e.message : String(err);
    if (typeof e.kind === 'string' && typeof e.retryable === 'boolean') {
      const out: ClassifierErrorLike = { kind: e.kind, retryable: e.retryable, message };
      if (typeof e.retryAt === 'number' && Number.isFinite(e.retryAt)) out.retryAt = e.retryAt;
      if (typeof e.status === 'number') out.status = e.status;
      const answered = readAnswered(err);
      if (answered) out.answered = answered;
      return out;
    }
    const answered = readAnswered(err);
    return { kind: 'unknown', retryable: false, message, ...(answered ? { answered } : {}) };
  }
  return { kind: 'unknown', retryable: false, message: String(err) };
}

export type EngineErrorKind =
  | 'invalid-input'
  | 'invalid-state'
  | 'budget-paused'
  | 'circuit-open'
  | 'rate-limited'
  | 'offline'
  | 'dropped'
  | 'aborted'
  | 'disposed';

/**
 * The engine's own errors. `retryAt` (epoch ms) says when trying again makes sense, where known. The message is
 * English; `messageText` says the same by message key and values when the engine made it from a template
 * (`ENGINE_TEMPLATES`), so the pages show it from the messages file.
 */
export class EngineError extends Error {
  override name = 'EngineError';
  readonly kind: EngineErrorKind;
  readonly retryAt?: number;
  readonly messageText?: MessageText;

  /** `message`: English, or a sentence from `engineSentence` (its English becomes the message). */
  constructor(
    kind: EngineErrorKind,
    message: string | ErrorSentence,
    opts: { retryAt?: number; cause?: unknown } = {},
  ) {
    super(
      typeof message === 'string' ? message : message.english,
      opts.cause === undefined ? undefined : { cause: opts.cause },
    );
    this.kind = kind;
    if (typeof message !== 'string') this.messageText = message.text;
    if (opts.retryAt !== undefined) this.retryAt = opts.retryAt;
  }
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock. Looks the globals up on every call, so fake timers installed later are honoured. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Persistence for the scheduler's state: JSON values by key (the background backs it with `storage.session`). */
export interface StateStore {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
}

/** A `StateStore` in memory. Values are deep-copied through JSON, as a real store would. */
export class MemoryStateStore implements StateStore {
  private readonly data = new Map<string, string>();
  /** How many writes it has taken (for tests). */
  writes = 0;

  async get(key: string): Promise<unknown> {
    const raw = this.data.get(key);
    return raw === undefined ? undefined : JSON.parse(raw);
  }

  async set(key: string, value: unknown): Promise<void> {
    this.writes++;
    this.data.set(key, JSON.stringify(value));
  }
}
