/**
 * The engine host: owns the one scan engine of the background, keeps it configured from the effective settings,
 * and connects its events to the pages (verdicts), `storage.session` (per-tab state) and the toolbar badge.
 *
 * It is created lazily on the first event after the background starts (Chrome stops its service worker when
 * idle), and `restore()`s the engine's pending work from `storage.session` before anything else, so a worker
 * stopped in the middle of a scan loses nothing.
 */

import { VerdictCache } from '@/lib/engine/cache';
import { ScanEngine } from '@/lib/engine/scheduler';
import type { Classify, StateStore, TabState, WorkItem } from '@/lib/engine/types';
import { createGuardClient } from '@/lib/guard/client';
import { GuardError, type GuardErrorData, toGuardError } from '@/lib/guard/errors';
import { getGuardModel } from '@/lib/guard/registry';
import type { ConversationTurn } from '@/lib/guard/types';
import { estimateCostUsd, getPreset } from '@/lib/providers/presets';
import { resolveAction } from '@/lib/settings/actions';
import { endpointConfigFromSettings, missingEndpointSetting } from '@/lib/settings/endpoint';
import { type Settings, settingsFingerprint } from '@/lib/settings/schema';
import type { EndpointTestResult, PageVerdict } from '@/utils/messages';
import { sendMessage } from '@/utils/messages';
import { type EffectiveState, loadEffectiveSettings, watchEffectiveSettings } from '@/utils/settings';
import { IdbVerdictStore } from '@/utils/verdict-store';
import { setBadge } from './badge';

export const RESUME_ALARM = 'guardlens-resume';

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

function classifierFor(settings: Settings, apiKey: string, info: EndpointInfo): Classify {
  const config = endpointConfigFromSettings(settings, apiKey);
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
      if (err instanceof GuardError && !err.cancelled) info.lastError = err.toJSON();
      throw err;
    }
  };
}

function engineOptions(state: EffectiveState, info: EndpointInfo) {
  const { settings, apiKey } = state;
  const model = getGuardModel(settings.guardModel);
  const preset = getPreset(settings.provider);
  return {
    classify: classifierFor(settings, apiKey, info),
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

export class EngineHost {
  readonly engine: ScanEngine;
  readonly endpoint: EndpointInfo = {};
  state: EffectiveState;
  private readonly unwatch: () => void;

  private constructor(state: EffectiveState) {
    this.state = state;
    this.engine = new ScanEngine({
      ...engineOptions(state, this.endpoint),
      cache: new VerdictCache(new IdbVerdictStore()),
      stateStore: sessionStore,
    });
    this.engine.onVerdict((item, verdict) => {
      if (!verdict.safe) void this.deliver(item, verdict.categories);
    });
    this.engine.onTabState((tabId, tabState) => void this.publishTab(tabId, tabState));
    this.engine.onStatus((status) => {
      if (status.pending > 0 || status.inFlight > 0)
        void browser.alarms.create(RESUME_ALARM, { periodInMinutes: 0.5 });
      else void browser.alarms.clear(RESUME_ALARM);
    });
    this.unwatch = watchEffectiveSettings((next) => this.apply(next));
  }

  private apply(next: EffectiveState): void {
    this.state = next;
    this.engine.reconfigure(engineOptions(next, this.endpoint));
  }

  static async create(): Promise<EngineHost> {
    const host = new EngineHost(await loadEffectiveSettings());
    // Settings that changed while they were first read (before the watcher existed) are read once more.
    const again = await loadEffectiveSettings();
    if (
      JSON.stringify([again.settings, again.apiKey]) !==
      JSON.stringify([host.state.settings, host.state.apiKey])
    ) {
      host.apply(again);
    }
    await host.engine.restore();
    return host;
  }

  /** Why nothing can be scanned yet, or null. */
  notConfigured(): string | null {
    return missingEndpointSetting(this.state.settings, this.state.apiKey);
  }

  /** Sends a flagged item's verdict to the frame it came from, with the person's action for its categories. */
  private async deliver(item: WorkItem, codes: string[]): Promise<void> {
    const resolved = resolveAction(this.state.settings, codes);
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

  private async publishTab(tabId: number, tabState: TabState | null): Promise<void> {
    const key = `tab:${tabId}`;
    if (tabState === null) {
      await browser.storage.session.remove(key);
      return;
    }
    await browser.storage.session.set({ [key]: tabState });
    await setBadge(tabId, tabState.flagged.length);
  }

  dispose(): void {
    this.unwatch();
    this.engine.dispose();
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
