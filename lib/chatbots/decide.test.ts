import { describe, expect, it } from 'vitest';
import { type CheckOutcome, decide, type GuardConfig } from './decide';

const BLOCK: GuardConfig = { mode: 'block', failMode: 'open', sendAnyway: true };
const unsafe: CheckOutcome = { kind: 'unsafe', categories: ['S1', 'S10'], names: ['Violent Crimes', 'Hate'] };
const down: CheckOutcome = { kind: 'failed', reason: 'endpoint', message: 'Could not reach the endpoint.' };

describe('decide', () => {
  it('releases a safe prompt, noting attachments that were not checked', () => {
    expect(decide({ kind: 'safe' }, BLOCK)).toEqual({ action: 'send' });
    expect(decide({ kind: 'safe' }, BLOCK, true)).toEqual({ action: 'send', notice: 'attachments' });
    expect(decide({ kind: 'skipped' }, BLOCK, true)).toEqual({ action: 'send' });
  });

  it('holds an unsafe prompt in block mode, with Send anyway unless a policy forbids it', () => {
    expect(decide(unsafe, BLOCK)).toEqual({
      action: 'hold',
      panel: 'blocked',
      categories: ['S1', 'S10'],
      names: ['Violent Crimes', 'Hate'],
      sendAnyway: true,
      attachments: false,
    });
    expect(decide(unsafe, { ...BLOCK, sendAnyway: false }, true)).toMatchObject({
      panel: 'blocked',
      sendAnyway: false,
      attachments: true,
    });
  });

  it('lets the person decide in warn mode (Send anyway always offered)', () => {
    expect(decide(unsafe, { mode: 'warn', failMode: 'closed', sendAnyway: false })).toMatchObject({
      action: 'hold',
      panel: 'warn',
      sendAnyway: true,
    });
  });

  it('sends when the guard is off', () => {
    expect(decide(unsafe, { ...BLOCK, mode: 'off' })).toEqual({ action: 'send' });
  });

  it('applies the fail mode when there is no verdict: never a silent safe', () => {
    expect(decide(down, BLOCK)).toEqual({
      action: 'send',
      notice: 'unchecked',
      reason: 'endpoint',
      message: 'Could not reach the endpoint.',
    });
    expect(decide(down, { ...BLOCK, failMode: 'closed' })).toEqual({
      action: 'hold',
      panel: 'failed',
      reason: 'endpoint',
      message: 'Could not reach the endpoint.',
      attachments: false,
    });
    const unreadable: CheckOutcome = { kind: 'failed', reason: 'unreadable', message: 'no text' };
    expect(decide(unreadable, BLOCK)).toMatchObject({
      action: 'send',
      notice: 'unchecked',
      reason: 'unreadable',
    });
    expect(decide(unreadable, { ...BLOCK, failMode: 'closed' })).toMatchObject({
      action: 'hold',
      panel: 'failed',
    });
  });
});
