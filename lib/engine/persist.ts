/**
 * The scheduler's persisted state: one JSON snapshot in the injected `StateStore` (the background backs it with
 * `storage.session`), rewritten after changes so a restarted background resumes where it stopped.
 *
 * Public API:
 * - `SNAPSHOT_VERSION`, `EngineSnapshot`, `PersistedJob`, `PersistedWaiter`, `PersistedTab`, `DayUsage`.
 * - `parseSnapshot(value): EngineSnapshot` — validates a stored value; throws `EngineError('invalid-state')`
 *   saying what is wrong.
 * - `localDay(epochMs)` (`YYYY-MM-DD` in local time) and `nextLocalMidnight(epochMs)`: the daily budget's day.
 * - `emptyDay(day)`.
 */
import { type BreakerSnapshot, isBreakerSnapshot } from './breaker';
import {
  EngineError,
  ITEM_KINDS,
  type ItemContent,
  isNotCheckedReason,
  PRIORITIES,
  type Priority,
  type TabState,
} from './types';

export const SNAPSHOT_VERSION = 1;

export interface PersistedWaiter {
  tabId: number;
  frameId: number;
  url: string;
  ref: string;
  priority: Priority;
  /** The tab's navigation epoch when the item was submitted. */
  epoch: number;
}

export interface PersistedJob {
  id: string;
  content: ItemContent;
  tokens: number;
  priority: Priority;
  seq: number;
  /** Failures that count against the item itself (the request was refused for this content). */
  attempts: number;
  /** Send alone, never packed with other blocks. */
  solo: boolean;
  /**
   * Epoch ms before which it is not sent again (it failed a moment ago): a restarted worker keeps the wait rather
   * than sending at once what was just refused, and possibly billed.
   */
  notBefore?: number;
  waiters: PersistedWaiter[];
}

export interface PersistedTab {
  epoch: number;
  state: TabState;
  seen: string[];
}

export interface DayUsage {
  day: string;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface EngineSnapshot {
  v: typeof SNAPSHOT_VERSION;
  fingerprint: string;
  seq: number;
  jobs: PersistedJob[];
  tabs: Record<string, PersistedTab>;
  today: DayUsage;
  rateLimitedUntil: number | null;
  rateLimitReason?: string;
  breaker: BreakerSnapshot;
}

export function emptyDay(day: string): DayUsage {
  return { day, requests: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };
}

export function localDay(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function nextLocalMidnight(epochMs: number): number {
  const d = new Date(epochMs);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime();
}

// ---------------------------------------------------------------------------------------------------------------
// Validation

const isObj = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x);
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isInt = (x: unknown): x is number => Number.isInteger(x);
const isStr = (x: unknown): x is string => typeof x === 'string';

function fail(what: string): never {
  throw new EngineError('invalid-state', `The saved scan state is not usable: ${what}.`);
}

function checkWaiter(w: unknown, where: string): PersistedWaiter {
  if (
    !isObj(w) ||
    !isInt(w.tabId) ||
    !isInt(w.frameId) ||
    !isStr(w.url) ||
    !isStr(w.ref) ||
    !PRIORITIES.includes(w.priority as Priority) ||
    !isInt(w.epoch)
  ) {
    fail(`${where} has a malformed waiter`);
  }
  return w as unknown as PersistedWaiter;
}

function checkContent(c: unknown, where: string): ItemContent {
  if (!isObj(c) || !ITEM_KINDS.includes(c.kind as ItemContent['kind']) || !isStr(c.text)) {
    fail(`${where} has malformed content`);
  }
  for (const k of ['imageUrl', 'imageData', 'context'] as const) {
    if (c[k] !== undefined && !isStr(c[k])) fail(`${where} has a malformed ${k}`);
  }
  return c as unknown as ItemContent;
}

function checkJob(j: unknown, i: number): PersistedJob {
  const where = `job ${i}`;
  if (
    !isObj(j) ||
    !isStr(j.id) ||
    !/^[0-9a-f]{64}$/.test(j.id) ||
    !isNum(j.tokens) ||
    !PRIORITIES.includes(j.priority as Priority) ||
    !isInt(j.seq) ||
    !isInt(j.attempts) ||
    typeof j.solo !== 'boolean' ||
    (j.notBefore !== undefined && !isNum(j.notBefore)) ||
    !Array.isArray(j.waiters)
  ) {
    fail(`${where} is malformed`);
  }
  checkContent(j.content, where);
  j.waiters.forEach((w, k) => {
    checkWaiter(w, `${where} waiter ${k}`);
  });
  return j as unknown as PersistedJob;
}

function checkTabState(s: unknown, where: string): TabState {
  if (
    !isObj(s) ||
    !isStr(s.url) ||
    !isInt(s.scanned) ||
    !isInt(s.pending) ||
    !Array.isArray(s.flagged) ||
    !isObj(s.categoryCounts) ||
    !isInt(s.errors) ||
    !isNum(s.tokens) ||
    !isNum(s.costUsd) ||
    (s.lastError !== undefined && !isStr(s.lastError))
  ) {
    fail(`${where} has a malformed state`);
  }
  for (const f of s.flagged) {
    // Saved before flagged items named their frame: the top document.
    if (isObj(f) && f.frameId === undefined) f.frameId = 0;
    if (
      !isObj(f) ||
      !isInt(f.frameId) ||
      !isStr(f.ref) ||
      !ITEM_KINDS.includes(f.kind as ItemContent['kind']) ||
      !Array.isArray(f.categories) ||
      !f.categories.every(isStr) ||
      !isStr(f.snippet)
    ) {
      fail(`${where} has a malformed flagged item`);
    }
  }
  if (!Object.values(s.categoryCounts).every(isInt)) fail(`${where} has malformed category counts`);
  if (
    s.unchecked !== undefined &&
    (!isObj(s.unchecked) ||
      !Object.entries(s.unchecked).every(([k, n]) => /^\d+$/.test(k) && isInt(n) && (n as number) > 0))
  )
    fail(`${where} has malformed unchecked counts`);
  if (
    s.notChecked !== undefined &&
    (!isObj(s.notChecked) ||
      !Object.entries(s.notChecked).every(([k, r]) => /^\d+$/.test(k) && isNotCheckedReason(r)))
  )
    fail(`${where} has malformed not-checked frames`);
  return s as unknown as TabState;
}

export function parseSnapshot(value: unknown): EngineSnapshot {
  if (!isObj(value)) fail('not an object');
  if (value.v !== SNAPSHOT_VERSION) fail(`version ${String(value.v)} (expected ${SNAPSHOT_VERSION})`);
  if (!isStr(value.fingerprint) || !isInt(value.seq) || !Array.isArray(value.jobs) || !isObj(value.tabs)) {
    fail('missing fields');
  }
  value.jobs.forEach((j, i) => {
    checkJob(j, i);
  });
  for (const [id, t] of Object.entries(value.tabs)) {
    if (
      !/^-?\d+$/.test(id) ||
      !isObj(t) ||
      !isInt(t.epoch) ||
      !Array.isArray(t.seen) ||
      !t.seen.every(isStr)
    ) {
      fail(`tab ${id} is malformed`);
    }
    checkTabState(t.state, `tab ${id}`);
  }
  const today = value.today;
  if (
    !isObj(today) ||
    !isStr(today.day) ||
    !isInt(today.requests) ||
    !isNum(today.promptTokens) ||
    !isNum(today.completionTokens) ||
    !isNum(today.costUsd)
  ) {
    fail('malformed usage');
  }
  if (value.rateLimitedUntil !== null && !isNum(value.rateLimitedUntil)) fail('malformed rate limit');
  if (value.rateLimitReason !== undefined && !isStr(value.rateLimitReason))
    fail('malformed rate limit reason');
  if (!isBreakerSnapshot(value.breaker)) fail('malformed circuit breaker');
  return value as unknown as EngineSnapshot;
}
