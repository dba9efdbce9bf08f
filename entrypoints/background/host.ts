/**
 * The engine host: owns the one scan engine of the background, keeps it configured from the effective settings,
 * and connects its events to the pages (verdicts), `storage.session` (per-tab state) and the toolbar badge.
 *
 * It is created lazily on the first event after the background starts (Chrome stops its service worker when
 * idle), and `restore()`s the engine's pending work from `storage.session` before anything else, so a worker
 * stopped in the middle of a scan loses nothing.
 *
 * Waking up again: while the engine has work (queued, in flight, or waiting out a pause) the host keeps one alarm,
 * `RESUME_ALARM`, every 30 s — the shortest period Chrome allows a packed MV3 extension — and at the end of a
 * known pause; the background's alarm listener creates the host, which resumes. Any other event wakes it sooner:
 * a page reporting blocks, a tab navigating or closing, the popup asking for a tab's state.
 *
 * Public API: `EngineHost.create(options?)`; `host.engine` (the `ScanEngine`), `host.state` (effective settings),
 * `host.endpoint` (last latency and error, of the endpoint in force: both start afresh when the endpoint settings
 * change), `host.notConfigured()`, `host.status()` (`HostStatus`: the engine's
 * state — ok, rate limited until when, circuit open and why, budget paused, offline — its queue and today's
 * usage, and why nothing can be scanned yet), `host.dispose()`; `testEndpoint(settings, apiKey)`.
 */

import { VerdictCache, type VerdictStore } from '@/lib/engine/cache';
import { engineSentence } from '@/lib/engine/engine-text';
import {
  type EngineStatus,
  type ReconfigureOptions,
  SCHEDULE_STRATEGIES,
  ScanEngine,
  type ScheduleStrategy,
} from '@/lib/engine/scheduler';
import type { Classify, StateStore, TabState, WorkItem } from '@/lib/engine/types';
import { createGuardClient } from '@/lib/guard/client';
import {
  GuardError,
  type GuardErrorData,
  noAccessError,
  retryAtFromHeaders,
  toGuardError,
} from '@/lib/guard/errors';
import { getGuardModel } from '@/lib/guard/registry';
import type { ConversationTurn } from '@/lib/guard/types';
import { endpointOriginPattern, estimateCostUsd, getPreset } from '@/lib/providers/presets';
import { resolveAction } from '@/lib/settings/actions';
import { endpointConfigFromSettings, missingEndpointSetting } from '@/lib/settings/endpoint';
import { type Settings, settingsFingerprint } from '@/lib/settings/schema';
import { lookupMessage } from '@/utils/i18n';
import type { EndpointTestResult, PageVerdict } from '@/utils/messages';
import { sendMessage } from '@/utils/messages';
import {
  type EffectiveState,
  loadEffectiveSettings,
  policySeenItem,
  watchEffectiveSettings,
} from '@/utils/settings';
import { IdbVerdictStore } from '@/utils/verdict-store';
import { setBadge } from './badge';

export const RESUME_ALARM = 'guardlens-resume';
/** How often a busy engine has the background woken: Chrome's shortest alarm for a packed MV3 extension. */
export const RESUME_PERIOD_MINUTES = 0.5;
/**
 * How long the first settings read waits for the organisation's policy. Chrome answers `storage.managed.get()`
 * late (2–3 s were measured) when the browser starts, and at once after that; reading the settings without the
 * policy would leave the pages of a policy-configured browser unscanned at start-up. Only a browser whose managed
 * area last held a policy, or where nothing is configured yet, waits: everyone else's first page and first prompt
 * do not pay for it.
 */
export const MANAGED_WARMUP_MS = 5_000;

/** `storage.session` as the engine's state store: survives a stopped service worker, not a browser restart. */
const sessionStore: StateStore = {
  async get(key) {
    return (await browser.storage.session.get(key))[key];
  },
  async set(key, value) {
    await browser.storage.session.set({ [key]: value });
  },
};

export interface EndpointInfo {
  lastLatencyMs?: number;
  lastError?: GuardErrorData;
}

/**
 * Timing the extension has no setting for, tunable through `storage.local` key `engineTuning` (no interface: the
 * end-to-end tests shorten the waits with it so a fault matrix runs in minutes). Values out of range are ignored.
 */
export interface EngineTuning {
  /** Per attempt of a request (default: the client's 30 s). 500 ms – 5 min. */
  timeoutMs?: number;
  /** First wait of the circuit breaker once it opens (default 10 s). 200 ms – 10 min. */
  breakerBaseBackoffMs?: number;
  /** Wait after a rate limit that said nothing about when to come back (default 20 s). 200 ms – 10 min. */
  rateLimitWaitMs?: number;
  /** How page text is scheduled (`ScheduleStrategy`; default `parallel`): the benchmark compares the two. */
  strategy?: ScheduleStrategy;
}

export const ENGINE_TUNING_KEY = 'engineTuning';

const TUNING_RANGES: Record<Exclude<keyof EngineTuning, 'strategy'>, [number, number]> = {
  timeoutMs: [500, 300_000],
  breakerBaseBackoffMs: [200, 600_000],
  rateLimitWaitMs: [200, 600_000],
};

/** Reads `engineTuning`, keeping only numbers in range. */
export function readEngineTuning(value: unknown): EngineTuning {
  const out: EngineTuning = {};
  if (!value || typeof value !== 'object') return out;
  for (const [key, [min, max]] of Object.entries(TUNING_RANGES) as Array<
    [Exclude<keyof EngineTuning, 'strategy'>, [number, number]]
  >) {
    const n = (value as Record<string, unknown>)[key];
    if (typeof n === 'number' && Number.isFinite(n) && n >= min && n <= max) out[key] = Math.round(n);
  }
  const strategy = (value as Record<string, unknown>).strategy;
  if (SCHEDULE_STRATEGIES.includes(strategy as ScheduleStrategy)) out.strategy = strategy as ScheduleStrategy;
  return out;
}

async function loadEngineTuning(): Promise<EngineTuning> {
  try {
    return readEngineTuning((await browser.storage.local.get(ENGINE_TUNING_KEY))[ENGINE_TUNING_KEY]);
  } catch {
    return {};
  }
}

/**
 * `fetch` that reports a `Retry-After` on a 429 or 503 as soon as the response arrives. The SDK waits it out and
 * retries the one request itself; the engine must not send anything else meanwhile.
 */
function retryAfterWatcher(onRetryAfter: (retryAt: number, status: number) => void): typeof fetch {
  const watched = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const res = await globalThis.fetch(input, init);
    if (res.status === 429 || res.status === 503) {
      const retryAt = retryAtFromHeaders(res.headers);
      if (retryAt !== undefined) onRetryAfter(retryAt, res.status);
    }
    return res;
  };
  return watched as typeof fetch;
}

function classifierFor(
  settings: Settings,
  apiKey: string,
  info: EndpointInfo,
  onRetryAfter?: (retryAt: number, status: number) => void,
  tuning: EngineTuning = {},
): Classify {
  const config = endpointConfigFromSettings(settings, apiKey);
  if (onRetryAfter) config.fetch = retryAfterWatcher(onRetryAfter);
  if (tuning.timeoutMs !== undefined) config.timeoutMs = tuning.timeoutMs;
  let client: ReturnType<typeof createGuardClient>;
  try {
    client = createGuardClient(config);
  } catch (err) {
    const error = toGuardError(err, {
      baseUrl: config.baseUrl,
      model: config.model,
      preset: settings.provider,
    });
    return async () => {
      info.lastError = error.toJSON();
      throw error;
    };
  }
  return async (turns: ConversationTurn[], signal?: AbortSignal) => {
    try {
      const result = await client.classify(turns, signal ? { signal } : undefined);
      info.lastLatencyMs = result.latencyMs;
      delete info.lastError;
      return result;
    } catch (err) {
      const error = await withoutAccess(err, config.baseUrl, settings.provider);
      if (error instanceof GuardError && !error.cancelled) info.lastError = error.toJSON();
      throw error;
    }
  };
}

/**
 * A request that failed like a network failure (or a CORS refusal) while the browser gives Guardlens no access
 * to the endpoint's site: said as that, with the way to grant it, instead of "could not be reached".
 */
async function withoutAccess(err: unknown, baseUrl: string, preset: string): Promise<unknown> {
  if (!(err instanceof GuardError) || err.cancelled || (err.kind !== 'unreachable' && err.kind !== 'cors'))
    return err;
  const endpoint = endpointOriginPattern(baseUrl);
  if (!endpoint) return err;
  try {
    if (await browser.permissions.contains({ origins: [endpoint.pattern] })) return err;
  } catch {
    return err;
  }
  return noAccessError({ baseUrl, preset }, endpoint.origin, err);
}

/** What identifies the endpoint a classifier talks to, and how. */
function endpointKey(state: EffectiveState, tuning: EngineTuning = {}): string {
  return JSON.stringify([endpointConfigFromSettings(state.settings, state.apiKey), tuning]);
}

function engineOptions(
  state: EffectiveState,
  info: EndpointInfo,
  onRetryAfter: (retryAt: number, status: number) => void,
  tuning: EngineTuning = {},
) {
  const { settings, apiKey } = state;
  const model = getGuardModel(settings.guardModel);
  const preset = getPreset(settings.provider);
  return {
    classify: classifierFor(settings, apiKey, info, onRetryAfter, tuning),
    ...(tuning.breakerBaseBackoffMs !== undefined
      ? { breaker: { baseBackoffMs: tuning.breakerBaseBackoffMs } }
      : {}),
    ...(tuning.rateLimitWaitMs !== undefined ? { rateLimitWaitMs: tuning.rateLimitWaitMs } : {}),
    strategy: tuning.strategy ?? 'parallel',
    fingerprint: settingsFingerprint(settings),
    concurrency: settings.concurrency,
    chunkTokens: settings.chunkTokens,
    contextWindow: model.contextWindow,
    maxImages: preset.images ? model.maxImages : 0,
    dailyBudgetUsd: settings.dailyBudgetUsd > 0 ? settings.dailyBudgetUsd : null,
    budgetAppliesToPrompts: settings.budgetAppliesToPrompts,
    estimateCostUsd: (usage: { promptTokens: number; completionTokens: number }) =>
      estimateCostUsd(preset, settings.guardModel, usage) ?? 0,
  };
}

/** What the popup needs to know about the engine as a whole. */
export interface HostStatus extends EngineStatus {
  /** Why nothing can be scanned yet (the endpoint settings are incomplete), or null. */
  notConfigured: string | null;
}

export interface EngineHostOptions {
  /** Where verdicts are cached (default: IndexedDB). */
  verdictStore?: VerdictStore;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Gives the managed storage area up to `MANAGED_WARMUP_MS` to answer once (see there). */
async function managedAreaAnswered(): Promise<void> {
  const area = (browser.storage as { managed?: { get?: () => Promise<unknown> } }).managed;
  if (typeof area?.get !== 'function') return;
  await Promise.race([
    Promise.resolve()
      .then(() => area.get?.())
      .catch(() => undefined),
    sleep(MANAGED_WARMUP_MS),
  ]);
}

/** Tab states are saved at most this often… */
export const TAB_PUBLISH_MS = 100;
/** …and this long after the engine reported them at the soonest. */
const TAB_PUBLISH_DELAY_MS = 20;

export class EngineHost {
  readonly engine: ScanEngine;
  state: EffectiveState;
  /** What the current classifier reports; a new endpoint gets a new one (an old request's answer lands in the old). */
  private info: EndpointInfo = {};
  private tuning: EngineTuning;
  private readonly unwatch: () => void;
  private readonly unwatchTuning: () => void;
  /** The resume alarm as last set: '' unknown (a fresh worker), 'none', or its schedule. */
  private alarm = '';
  /** Tab states reported by the engine and not saved yet (`queueTab`). */
  private readonly unpublished = new Map<number, TabState | null>();
  private publishTimer: ReturnType<typeof setTimeout> | undefined;
  private lastPublishAt = Number.NEGATIVE_INFINITY;
  /** The count each tab's badge shows, as last set. */
  private readonly badges = new Map<number, number>();

  private constructor(state: EffectiveState, tuning: EngineTuning, options: EngineHostOptions) {
    this.state = state;
    this.tuning = tuning;
    this.engine = new ScanEngine({
      ...engineOptions(state, this.info, this.onRetryAfter, tuning),
      cache: new VerdictCache(options.verdictStore ?? new IdbVerdictStore()),
      stateStore: sessionStore,
    });
    this.engine.onVerdict((item, verdict) => {
      if (!verdict.safe) void this.deliver(item, verdict.categories);
    });
    this.engine.onTabState((tabId, tabState) => this.queueTab(tabId, tabState));
    this.engine.onStatus((status) => this.keepAwake(status));
    this.unwatch = watchEffectiveSettings((next) => this.apply(next));
    const onStorage = (changes: Record<string, { newValue?: unknown }>, area: string) => {
      if (area !== 'local' || !(ENGINE_TUNING_KEY in changes)) return;
      const next = readEngineTuning(changes[ENGINE_TUNING_KEY]?.newValue);
      if (JSON.stringify(next) === JSON.stringify(this.tuning)) return;
      const previous = endpointKey(this.state, this.tuning);
      this.tuning = next;
      this.apply(this.state, previous);
    };
    browser.storage.onChanged.addListener(onStorage);
    this.unwatchTuning = () => browser.storage.onChanged.removeListener(onStorage);
  }

  /** The endpoint's last latency and error, as the popup shows them. */
  get endpoint(): EndpointInfo {
    return this.info;
  }

  private readonly onRetryAfter = (retryAt: number, status: number): void => {
    const seconds = Math.max(0, Math.round((retryAt - Date.now()) / 1000));
    this.engine.pauseUntil(
      retryAt,
      engineSentence('engine_status_asked_to_wait_for', seconds, status).english,
    );
  };

  /**
   * The browser granted Guardlens an origin (the options page's Save, or the browser's own settings): an endpoint
   * that failed for want of access starts afresh at once, rather than at its circuit breaker's next probe.
   */
  originsGranted(): void {
    if (this.info.lastError?.kind === 'no-access') this.apply(this.state, '');
  }

  private apply(next: EffectiveState, previousKey = endpointKey(this.state, this.tuning)): void {
    const sameEndpoint = endpointKey(next, this.tuning) === previousKey;
    this.state = next;
    // Another endpoint: the last latency and error were the old one's.
    if (!sameEndpoint) this.info = {};
    const options: ReconfigureOptions = engineOptions(next, this.info, this.onRetryAfter, this.tuning);
    // A new classifier starts the endpoint afresh (breaker, rate limit): only when the endpoint changed.
    if (sameEndpoint) {
      delete options.classify;
      delete options.breaker;
    }
    void this.engine.reconfigure(options).catch((err) => {
      console.error('Guardlens: could not apply the new settings', err instanceof Error ? err.message : err);
    });
  }

  static async create(options: EngineHostOptions = {}): Promise<EngineHost> {
    let first = await loadEffectiveSettings();
    const wait =
      (await policySeenItem.getValue().catch(() => true)) ||
      missingEndpointSetting(first.settings, first.apiKey);
    if (wait) {
      await managedAreaAnswered();
      first = await loadEffectiveSettings();
    }
    const host = new EngineHost(first, await loadEngineTuning(), options);
    // Settings that changed while they were first read (before the watcher existed) are read once more.
    const again = await loadEffectiveSettings();
    if (
      JSON.stringify([again.settings, again.apiKey]) !==
      JSON.stringify([host.state.settings, host.state.apiKey])
    ) {
      host.apply(again);
    }
    // A worker that starts while the browser is offline hears no 'offline' event.
    if (globalThis.navigator?.onLine === false) host.engine.setOnline(false);
    await host.engine.restore();
    await host.forgetClosedTabs();
    return host;
  }

  /** Drops the state of tabs that closed while no background was running to hear it. */
  private async forgetClosedTabs(): Promise<void> {
    let open: Set<number | undefined>;
    try {
      open = new Set((await browser.tabs.query({})).map((tab) => tab.id));
    } catch {
      return;
    }
    for (const tabId of this.engine.tabIds()) if (!open.has(tabId)) this.engine.dropTab(tabId);
  }

  /** Why nothing can be scanned yet, or null. */
  notConfigured(): string | null {
    return missingEndpointSetting(this.state.settings, this.state.apiKey);
  }

  /** The engine's state for the popup: rate limits, circuit breaker, budget, offline, queue, today's usage. */
  status(): HostStatus {
    return { ...this.engine.status(), notConfigured: this.notConfigured() };
  }

  /**
   * Keeps the resume alarm in step with the engine: none when idle; every `RESUME_PERIOD_MINUTES` while work
   * is pending, first at the end of a known pause. Only a change of plan touches the alarm, so a busy engine
   * does not keep pushing it back.
   */
  private keepAwake(status: EngineStatus): void {
    const busy = status.pending > 0 || status.inFlight > 0;
    const pausedUntil = busy && status.state !== 'ok' && status.until !== undefined ? status.until : null;
    const plan = !busy ? 'none' : pausedUntil !== null ? `at ${pausedUntil}` : 'every';
    if (plan === this.alarm) return;
    this.alarm = plan;
    const done = (p: Promise<unknown>) =>
      p.catch((err) => {
        this.alarm = ''; // try again on the next status
        console.error('Guardlens: could not set the resume alarm', err instanceof Error ? err.message : err);
      });
    if (!busy) {
      void done(browser.alarms.clear(RESUME_ALARM));
      return;
    }
    const earliest = Date.now() + RESUME_PERIOD_MINUTES * 60_000;
    void done(
      browser.alarms.create(RESUME_ALARM, {
        when: Math.max(pausedUntil ?? 0, earliest),
        periodInMinutes: RESUME_PERIOD_MINUTES,
      }),
    );
  }

  /** Sends a flagged item's verdict to the frame it came from, with the person's action for its categories. */
  private async deliver(item: WorkItem, codes: string[]): Promise<void> {
    const resolved = resolveAction(this.state.settings, codes, lookupMessage);
    if (resolved.action === 'ignore') return;
    const verdict: PageVerdict = { ref: item.ref, ...resolved };
    try {
      await sendMessage(
        'page:verdicts',
        { url: item.url, verdicts: [verdict] },
        { tabId: item.tabId, frameId: item.frameId },
      );
    } catch {
      // The tab or frame is gone or navigated; its state says what was found.
    }
  }

  /**
   * A tab's state is saved for the popup (and its badge set) from a timer, at most once per `TAB_PUBLISH_MS`: the
   * engine reports a tab after every answer, and each save serializes the whole state and wakes every
   * `storage.onChanged` listener, which in the middle of a search held back its next request.
   */
  private queueTab(tabId: number, tabState: TabState | null): void {
    this.unpublished.set(tabId, tabState);
    if (this.publishTimer !== undefined) return;
    const wait = Math.max(TAB_PUBLISH_DELAY_MS, this.lastPublishAt + TAB_PUBLISH_MS - Date.now());
    this.publishTimer = setTimeout(() => this.publishQueued(), wait);
  }

  private publishQueued(): void {
    clearTimeout(this.publishTimer);
    this.publishTimer = undefined;
    this.lastPublishAt = Date.now();
    const batch = [...this.unpublished];
    this.unpublished.clear();
    for (const [tabId, tabState] of batch) void this.publishTab(tabId, tabState);
  }

  private async publishTab(tabId: number, tabState: TabState | null): Promise<void> {
    const key = `tab:${tabId}`;
    try {
      if (tabState === null) {
        this.badges.delete(tabId);
        await browser.storage.session.remove(key);
        return;
      }
      await browser.storage.session.set({ [key]: tabState });
    } catch (err) {
      console.error('Guardlens: could not save the state of a tab', err instanceof Error ? err.message : err);
    }
    if (!tabState) return;
    // The badge is set when its count changes (a new page in the tab starts again from none).
    const count = tabState.flagged.length;
    if (this.badges.get(tabId) === count) return;
    this.badges.set(tabId, count);
    await setBadge(tabId, count);
  }

  dispose(): void {
    this.unwatch();
    this.unwatchTuning();
    this.engine.dispose();
    // What the engine reported last is still saved.
    if (this.publishTimer !== undefined) this.publishQueued();
  }
}

/** "Test connection": one real request with the given (possibly unsaved) settings. */
export async function testEndpoint(settings: Settings, apiKey: string): Promise<EndpointTestResult> {
  const info: EndpointInfo = {};
  const classify = classifierFor(settings, apiKey, info);
  try {
    const result = await classify([
      { role: 'user', text: 'Hello! Could you recommend a good book about gardening?' },
    ]);
    return {
      ok: true,
      verdict: result.verdict,
      latencyMs: result.latencyMs,
      promptTokens: result.usage.promptTokens,
      completionTokens: result.usage.completionTokens,
    };
  } catch (err) {
    const error =
      err instanceof GuardError
        ? err
        : toGuardError(err, {
            baseUrl: settings.baseUrl,
            model: settings.model,
            preset: settings.provider,
            apiKey,
          });
    return { ok: false, error: error.toJSON() };
  }
}
