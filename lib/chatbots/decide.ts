/**
 * What the prompt guard does once a check has an outcome: release the send, hold it behind a panel, or apply the
 * fail mode. Pure: the content script shows what this decides.
 *
 * Rules:
 * - safe, or the guard is off for this page: the send is released (with a note when attachments went unchecked);
 * - unsafe, *block* mode: held; the panel names the categories and offers "Edit prompt", and "Send anyway" unless
 *   the organisation's policy forbids it;
 * - unsafe, *warn* mode: held; the panel names the categories and the person chooses (Send anyway is always there);
 * - no verdict (the endpoint failed or was too slow, or the prompt's text could not be read): fail *open* releases
 *   the send with a notice saying it went unchecked; fail *closed* holds it with a Retry button. Never a silent
 *   "safe".
 *
 * Public API: `CheckOutcome`, `GuardConfig`, `Decision`, `decide(outcome, config, attachments)`.
 */
import type { FailMode, PromptGuardMode } from '../settings/schema';

export type FailureReason = 'endpoint' | 'timeout' | 'unreadable' | 'unavailable';

export type CheckOutcome =
  | { kind: 'safe' }
  | { kind: 'unsafe'; categories: string[]; names: string[] }
  /** The guard is off for this page or mode (nothing was checked, by the person's choice). */
  | { kind: 'skipped' }
  | { kind: 'failed'; reason: FailureReason; message: string };

export interface GuardConfig {
  mode: PromptGuardMode;
  failMode: FailMode;
  /** False when the organisation's policy locks the guard in block mode. */
  sendAnyway: boolean;
}

export type Decision =
  | { action: 'send'; notice?: 'unchecked' | 'attachments'; reason?: FailureReason; message?: string }
  | {
      action: 'hold';
      panel: 'blocked' | 'warn';
      categories: string[];
      names: string[];
      sendAnyway: boolean;
      attachments: boolean;
    }
  | { action: 'hold'; panel: 'failed'; reason: FailureReason; message: string; attachments: boolean };

export function decide(outcome: CheckOutcome, config: GuardConfig, attachments = false): Decision {
  switch (outcome.kind) {
    case 'safe':
    case 'skipped':
      return attachments && outcome.kind === 'safe'
        ? { action: 'send', notice: 'attachments' }
        : { action: 'send' };
    case 'unsafe':
      if (config.mode === 'off') return { action: 'send' };
      return {
        action: 'hold',
        panel: config.mode === 'warn' ? 'warn' : 'blocked',
        categories: [...outcome.categories],
        names: [...outcome.names],
        sendAnyway: config.mode === 'warn' || config.sendAnyway,
        attachments,
      };
    case 'failed':
      if (config.failMode === 'open') {
        return { action: 'send', notice: 'unchecked', reason: outcome.reason, message: outcome.message };
      }
      return {
        action: 'hold',
        panel: 'failed',
        reason: outcome.reason,
        message: outcome.message,
        attachments,
      };
  }
}
