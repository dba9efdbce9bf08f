/**
 * What a key press in a composer means: a send to check, a newline, or nothing for the guard.
 *
 * IME composition never sends: a key pressed while composing (`isComposing`, or key code 229, which some browsers
 * report for the key that ends a composition) passes to the site untouched, and an Enter that comes right after
 * `compositionend` (the order some browsers use) is swallowed, neither sent nor checked.
 *
 * Public API: `KeyInfo`, `KeyAction`, `keyAction(info, keys, msSinceCompositionEnd)`, `COMPOSITION_GRACE_MS`,
 * `isEnterKey(info)`.
 */
import type { SiteKeys } from './sites';

/** The parts of a `KeyboardEvent` the decision needs. */
export interface KeyInfo {
  key: string;
  code?: string;
  shiftKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  isComposing: boolean;
  keyCode: number;
}

/**
 * - `send`: the site would send: hold the event and check the prompt.
 * - `pass`: not the guard's business (other keys, Shift+Enter newline, composition).
 * - `swallow`: stop the event without checking (an Enter that only ends an IME composition).
 */
export type KeyAction = 'send' | 'pass' | 'swallow';

/** How long after `compositionend` an Enter still belongs to the composition. */
export const COMPOSITION_GRACE_MS = 50;

export function isEnterKey(info: Pick<KeyInfo, 'key' | 'code'>): boolean {
  return info.key === 'Enter' || info.code === 'Enter' || info.code === 'NumpadEnter';
}

export function keyAction(
  info: KeyInfo,
  keys: SiteKeys,
  msSinceCompositionEnd = Number.POSITIVE_INFINITY,
): KeyAction {
  if (!isEnterKey(info)) return 'pass';
  if (info.isComposing || info.keyCode === 229) return 'pass';
  if (msSinceCompositionEnd >= 0 && msSinceCompositionEnd < COMPOSITION_GRACE_MS) return 'swallow';
  if (info.shiftKey || info.altKey) return 'pass';
  if (info.ctrlKey || info.metaKey) return keys.modEnter === 'send' ? 'send' : 'pass';
  return keys.enter === 'send' ? 'send' : 'pass';
}
