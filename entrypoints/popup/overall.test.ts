import { describe, expect, it } from 'vitest';
import { emptyTabState, type FlaggedItem } from '@/lib/engine/types';
import type { TabView } from '@/utils/protocol/popup';
import { overallState } from './overall';

function view(
  patch: Partial<TabView> = {},
  state: Partial<NonNullable<TabView['state']>> | null = {},
): TabView {
  const base: TabView = {
    tabId: 1,
    url: 'https://news.example/',
    host: 'news.example',
    configured: true,
    scanOnDemand: false,
    categories: [],
    items: [],
    engine: {
      state: 'ok',
      pending: 0,
      inFlight: 0,
      today: { requests: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 },
    },
    endpoint: {
      provider: 'custom',
      providerLabel: 'Custom endpoint',
      model: 'm',
      guardModel: 'llama-guard-3-8b',
      guardModelLabel: 'Llama Guard 3 8B',
      costKnown: false,
    },
    ...patch,
  };
  if (state) base.state = { ...emptyTabState('https://news.example/'), ...state };
  return base;
}

const flaggedItem: FlaggedItem = { ref: 'b1', frameId: 0, kind: 'text', categories: ['S1'], snippet: 'x' };
const error = { name: 'GuardError', kind: 'auth' as const, message: 'no', hint: 'fix', retryable: false };

describe('overallState', () => {
  it('leads with set-up, then the reasons a tab is not scanned', () => {
    expect(overallState(view({ configured: false }))).toEqual({ kind: 'setup' });
    expect(overallState(view({ inactiveReason: 'not-configured' }))).toEqual({ kind: 'setup' });
    expect(overallState(view({ inactiveReason: 'unsupported' }))).toEqual({ kind: 'unsupported' });
    expect(overallState(view({ inactiveReason: 'excluded' }))).toEqual({ kind: 'excluded' });
    expect(overallState(view({ inactiveReason: 'incognito' }))).toEqual({ kind: 'incognito' });
    expect(overallState(view({ inactiveReason: 'paused' }, { flagged: [flaggedItem] }))).toEqual({
      kind: 'paused',
      flagged: 1,
    });
  });

  it('shows progress while scanning, and a wait when the engine is held back', () => {
    expect(overallState(view({}, { scanned: 12, pending: 18 }))).toEqual({
      kind: 'scanning',
      checked: 12,
      total: 30,
      flagged: 0,
    });
    const held = view({}, { scanned: 2, pending: 3 });
    held.engine.state = 'rate-limited';
    expect(overallState(held)).toEqual({ kind: 'waiting', flagged: 0 });
    // The 429 that started the pause is the last error: the popup still says it is waiting, not failing.
    held.endpoint.lastError = error;
    expect(overallState(held)).toEqual({ kind: 'waiting', flagged: 0 });
  });

  it('is an error while the circuit is open or the last request failed with work waiting', () => {
    const open = view({}, { pending: 3 });
    open.engine.state = 'circuit-open';
    expect(overallState(open).kind).toBe('error');
    const failing = view({}, { pending: 3, flagged: [flaggedItem] });
    failing.endpoint.lastError = error;
    expect(overallState(failing)).toEqual({ kind: 'error', flagged: 1 });
    // An old error with nothing waiting does not hide the page's result.
    const done = view({}, { scanned: 4 });
    done.endpoint.lastError = error;
    expect(overallState(done)).toEqual({ kind: 'clean', checked: 4 });
  });

  it('says how many were flagged or that nothing was, and what on-demand mode waits for', () => {
    expect(
      overallState(view({}, { scanned: 9, flagged: [flaggedItem, { ...flaggedItem, ref: 'b2' }] })),
    ).toEqual({
      kind: 'flagged',
      flagged: 2,
      checked: 9,
    });
    expect(overallState(view({}, { scanned: 9 }))).toEqual({ kind: 'clean', checked: 9 });
    expect(overallState(view({ scanOnDemand: true }, null))).toEqual({ kind: 'on-demand' });
    expect(overallState(view({}, null))).toEqual({ kind: 'idle' });
  });
});
