/** The one overall state the popup leads with, worked out from a tab's view. Pure, for tests. */
import type { TabView } from '@/utils/protocol/popup';

export type Overall =
  | { kind: 'setup' }
  | { kind: 'unsupported' }
  | { kind: 'excluded' }
  | { kind: 'incognito' }
  | { kind: 'paused'; flagged: number }
  | { kind: 'error'; flagged: number }
  | { kind: 'waiting'; flagged: number }
  | { kind: 'scanning'; checked: number; total: number; flagged: number }
  | { kind: 'on-demand' }
  | { kind: 'flagged'; flagged: number; checked: number }
  | { kind: 'clean'; checked: number }
  | { kind: 'idle' };

export function overallState(view: TabView): Overall {
  if (!view.configured || view.inactiveReason === 'not-configured') return { kind: 'setup' };
  if (view.inactiveReason === 'unsupported') return { kind: 'unsupported' };
  if (view.inactiveReason === 'excluded') return { kind: 'excluded' };
  if (view.inactiveReason === 'incognito') return { kind: 'incognito' };
  const flagged = view.state?.flagged.length ?? 0;
  if (view.inactiveReason === 'paused') return { kind: 'paused', flagged };
  const checked = view.state?.scanned ?? 0;
  const pending = view.state?.pending ?? 0;
  // Rate limited: the engine waits on purpose until the time the endpoint gave; that is not a failure.
  if (pending > 0 && view.engine.state === 'rate-limited') return { kind: 'waiting', flagged };
  // The endpoint fails (the circuit breaker is open) or the last request failed while work is waiting.
  if (view.engine.state === 'circuit-open' || (view.endpoint.lastError && pending > 0))
    return { kind: 'error', flagged };
  if (pending > 0 && view.engine.state !== 'ok') return { kind: 'waiting', flagged };
  if (pending > 0) return { kind: 'scanning', checked, total: checked + pending, flagged };
  if (flagged > 0) return { kind: 'flagged', flagged, checked };
  if (checked > 0) return { kind: 'clean', checked };
  if (view.scanOnDemand) return { kind: 'on-demand' };
  if (view.endpoint.lastError) return { kind: 'error', flagged };
  return { kind: 'idle' };
}
