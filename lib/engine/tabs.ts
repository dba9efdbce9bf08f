/**
 * Per-tab bookkeeping: what one tab has been found to contain, and what it cost.
 *
 * Public API:
 * - `TabRecord` — a tab's `TabState` plus its navigation `epoch` and the items already counted (`seen`, by
 *   frame, ref and content key: `seenKey(frameId, ref, id)`).
 * - `newTabRecord(url, epoch)`.
 * - `recordTabVerdict(rec, item, verdict, snippetLength?): boolean` — counts a verdict once per element and
 *   content (a resubmitted element is not counted again), merges flagged parts of one element (same frame and
 *   `ref`), and keeps `categoryCounts` in step; true when the state changed.
 * - `recordTabUsage(rec, tokens, costUsd)`, `recordTabError(rec, message)`.
 * - `recordTabUnchecked(rec, frameId, chars): boolean` — one frame's page text left unchecked (its total).
 * - `recordTabNotChecked(rec, frameId, reason | null): boolean` — one frame's scan could not start or stopped.
 * - `snippetOf(item, max)`, `cloneTabState(state)`.
 */
import type { Verdict } from '../guard/types';
import { emptyTabState, type NotCheckedReason, type TabState, type WorkItem } from './types';

export const DEFAULT_SNIPPET_LENGTH = 140;
/** Longest `lastError` kept. */
const MAX_ERROR_LENGTH = 300;

export interface TabRecord {
  epoch: number;
  state: TabState;
  /** `ref + '\n' + key prefix` of every item already counted. */
  seen: Set<string>;
  /**
   * Frames whose viewport text was submitted in this page state. Not saved: after a restart, later viewport text
   * goes on its own, as the first did.
   */
  viewportSent?: Set<number>;
}

export function newTabRecord(url: string, epoch: number): TabRecord {
  return { epoch, state: emptyTabState(url), seen: new Set() };
}

export function seenKey(frameId: number, ref: string, id: string): string {
  return `${frameId}:${ref}\n${id.slice(0, 16)}`;
}

export function snippetOf(
  item: Pick<WorkItem, 'text' | 'context' | 'imageUrl' | 'kind'>,
  max: number,
): string {
  const source = item.text || item.context || (item.kind === 'image' ? (item.imageUrl ?? 'image') : '');
  const chars = Array.from(source);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : source;
}

export function recordTabVerdict(
  rec: TabRecord,
  item: WorkItem,
  verdict: Verdict,
  snippetLength = DEFAULT_SNIPPET_LENGTH,
): boolean {
  const key = seenKey(item.frameId, item.ref, item.id);
  if (rec.seen.has(key)) return false;
  rec.seen.add(key);
  const state = rec.state;
  state.scanned++;
  if (verdict.safe) return true;
  const existing = state.flagged.find((f) => f.ref === item.ref && f.frameId === item.frameId);
  if (existing) {
    for (const c of verdict.categories) if (!existing.categories.includes(c)) existing.categories.push(c);
  } else {
    state.flagged.push({
      frameId: item.frameId,
      ref: item.ref,
      kind: item.kind,
      categories: [...verdict.categories],
      snippet: snippetOf(item, snippetLength),
    });
  }
  state.categoryCounts = countCategories(state);
  return true;
}

function countCategories(state: TabState): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const f of state.flagged) for (const c of f.categories) counts[c] = (counts[c] ?? 0) + 1;
  return counts;
}

export function recordTabUsage(rec: TabRecord, tokens: number, costUsd: number): void {
  rec.state.tokens += tokens;
  rec.state.costUsd += costUsd;
}

export function recordTabError(rec: TabRecord, message: string): void {
  rec.state.errors++;
  rec.state.lastError =
    message.length > MAX_ERROR_LENGTH ? `${message.slice(0, MAX_ERROR_LENGTH - 1)}…` : message;
}

/**
 * Records how many characters of one frame's page text were left unchecked (the frame's total for its page
 * state, so a repeated report does not add up); true when the state changed.
 */
export function recordTabUnchecked(rec: TabRecord, frameId: number, chars: number): boolean {
  const key = String(frameId);
  const before = rec.state.unchecked?.[key] ?? 0;
  if (before === chars) return false;
  const unchecked = { ...rec.state.unchecked };
  if (chars > 0) unchecked[key] = chars;
  else delete unchecked[key];
  if (Object.keys(unchecked).length > 0) rec.state.unchecked = unchecked;
  else delete rec.state.unchecked;
  return true;
}

/**
 * Records that one frame's page scan could not start or stopped (`reason`), or that it runs again (`null`); true
 * when the state changed.
 */
export function recordTabNotChecked(
  rec: TabRecord,
  frameId: number,
  reason: NotCheckedReason | null,
): boolean {
  const key = String(frameId);
  if ((rec.state.notChecked?.[key] ?? null) === reason) return false;
  const notChecked = { ...rec.state.notChecked };
  if (reason) notChecked[key] = reason;
  else delete notChecked[key];
  if (Object.keys(notChecked).length > 0) rec.state.notChecked = notChecked;
  else delete rec.state.notChecked;
  return true;
}

export function cloneTabState(state: TabState): TabState {
  const copy: TabState = {
    ...state,
    flagged: state.flagged.map((f) => ({ ...f, categories: [...f.categories] })),
    categoryCounts: { ...state.categoryCounts },
  };
  if (state.unchecked) copy.unchecked = { ...state.unchecked };
  if (state.notChecked) copy.notChecked = { ...state.notChecked };
  return copy;
}
