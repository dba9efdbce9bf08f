/** Messages from the popup and options pages: a tab's state, and "Test connection". */
import type { TabState } from '@/lib/engine/types';
import { describeCategory, getGuardModel } from '@/lib/guard/registry';
import { estimateCostUsd, getPreset } from '@/lib/providers/presets';
import {
  actionForCategory,
  hostOfUrl,
  normalizeSettings,
  type Settings,
  siteState,
} from '@/lib/settings/schema';
import { lookupMessage, presetLabel } from '@/utils/i18n';
import {
  type CategoryView,
  type FlaggedItemView,
  type ManualCheck,
  onMessage,
  type TabInactiveReason,
  type TabView,
} from '@/utils/messages';
import { manualCheckKey } from '@/utils/protocol/page';
import { getApiKey } from '@/utils/settings';
import type { BackgroundContext } from './context';
import { attachHistory, extraKey, type ItemExtra, tabItemExtras } from './history';
import { type EngineHost, testEndpoint } from './host';

/**
 * True for this extension's own pages (the popup, the options page, `popup.html?tabId=N` open in a tab), false
 * for content scripts (their sender URL is the web page's) and anything else.
 */
export function isExtensionPage(sender: { id?: string; url?: string } | undefined, ownId: string): boolean {
  if (!sender || sender.id !== ownId || typeof sender.url !== 'string') return false;
  return sender.url.startsWith(browser.runtime.getURL('/'));
}

/** Orders category codes: the model's own in table order, then the person's custom ones, then the rest. */
function codeOrder(settings: Settings): (a: string, b: string) => number {
  const model = getGuardModel(settings.guardModel);
  const rank = (code: string) => {
    const builtIn = model.categories.findIndex((c) => c.code === code);
    if (builtIn >= 0) return builtIn;
    const custom = settings.customCategories.findIndex((c) => c.code === code);
    return custom >= 0 ? 1000 + custom : 10_000;
  };
  return (a, b) => rank(a) - rank(b) || a.localeCompare(b, 'en', { numeric: true });
}

export function categoryViews(settings: Settings, counts: Record<string, number>): CategoryView[] {
  const model = getGuardModel(settings.guardModel);
  return Object.entries(counts)
    .filter(([, count]) => count > 0)
    .sort(([a], [b]) => codeOrder(settings)(a, b))
    .map(([code, count]) => {
      const custom = settings.customCategories.find((c) => c.code === code);
      const known = describeCategory(model, code, lookupMessage);
      return {
        code,
        name: custom?.name ?? known?.name ?? code,
        description: custom?.description ?? known?.description ?? '',
        count,
        action: actionForCategory(settings, code),
        custom: !!custom,
      };
    });
}

export function itemViews(state: TabState | undefined, extras: Record<string, ItemExtra>): FlaggedItemView[] {
  return (state?.flagged ?? []).map((f) => {
    const extra = extras[extraKey(f.frameId, f.ref)];
    const view: FlaggedItemView = {
      ref: f.ref,
      frameId: f.frameId,
      kind: f.kind,
      categories: [...f.categories],
      snippet: f.snippet,
    };
    if (extra?.thumbnail) view.thumbnail = extra.thumbnail;
    return view;
  });
}

function inactiveReason(
  settings: Settings,
  configured: boolean,
  tab: { url?: string; incognito?: boolean } | undefined,
  url: string | undefined,
): TabInactiveReason | undefined {
  if (!configured) return 'not-configured';
  if (!url || !/^https?:\/\//i.test(url)) return 'unsupported';
  const site = siteState(settings, url);
  if (site !== 'active') return site;
  if (tab?.incognito && !settings.allowIncognito) return 'incognito';
  return undefined;
}

/** The context-menu check kept for the popup (see `manualCheckKey`), when it looks like one. */
async function readManualCheck(tabId: number): Promise<ManualCheck | undefined> {
  const key = manualCheckKey(tabId);
  const stored: Record<string, unknown> = await browser.storage.session.get(key).catch(() => ({}));
  const value = stored[key] as ManualCheck | undefined;
  return value &&
    typeof value === 'object' &&
    typeof value.status === 'string' &&
    typeof value.snippet === 'string'
    ? value
    : undefined;
}

export async function buildTabView(h: EngineHost, tabId: number): Promise<TabView> {
  const { settings } = h.state;
  const model = getGuardModel(settings.guardModel);
  const preset = getPreset(settings.provider);
  const state = h.engine.tabState(tabId);
  const [tab, extras, manualCheck] = await Promise.all([
    browser.tabs.get(tabId).catch(() => undefined),
    tabItemExtras(tabId).catch(() => ({})),
    readManualCheck(tabId),
  ]);
  const url = tab?.url || state?.url;
  const status = h.status();
  const missing = status.notConfigured;
  const view: TabView = {
    tabId,
    configured: missing === null,
    scanOnDemand: settings.scanOnDemand,
    categories: categoryViews(settings, state?.categoryCounts ?? {}),
    items: itemViews(state, extras),
    engine: {
      state: status.state,
      pending: status.pending,
      inFlight: status.inFlight,
      today: {
        requests: status.today.requests,
        promptTokens: status.today.promptTokens,
        completionTokens: status.today.completionTokens,
        costUsd: status.today.costUsd,
      },
    },
    endpoint: {
      provider: settings.provider,
      providerLabel: presetLabel(preset),
      model: settings.model,
      guardModel: settings.guardModel,
      guardModelLabel: model.label,
      costKnown:
        estimateCostUsd(preset, settings.guardModel, { promptTokens: 1, completionTokens: 1 }) !== undefined,
      ...h.endpoint,
    },
  };
  if (status.reason) view.engine.reason = status.reason;
  if (status.reason && status.reasonText) view.engine.reasonText = status.reasonText;
  if (status.until !== undefined) view.engine.until = status.until;
  if (status.budgetUsd !== undefined) view.engine.budgetUsd = status.budgetUsd;
  if (missing !== null) view.notConfigured = missing;
  if (url) {
    view.url = url;
    const host = hostOfUrl(url);
    if (host) view.host = host;
  }
  if (state) view.state = state;
  if (manualCheck) view.manualCheck = manualCheck;
  const reason = inactiveReason(settings, missing === null, tab, url);
  if (reason) view.inactiveReason = reason;
  return view;
}

export function registerPopupHandlers({ host, ownId }: BackgroundContext): void {
  onMessage('tab:state', async ({ data, sender }): Promise<TabView> => {
    if (!isExtensionPage(sender, ownId)) throw new Error('Not allowed.');
    const tabId = data?.tabId;
    if (typeof tabId !== 'number' || !Number.isInteger(tabId) || tabId < 0) throw new Error('No such tab.');
    const h = await host();
    attachHistory(h);
    return buildTabView(h, tabId);
  });

  onMessage('endpoint:test', async ({ data, sender }) => {
    if (!isExtensionPage(sender, ownId)) throw new Error('Not allowed.');
    const settings = data?.settings
      ? normalizeSettings(data.settings).settings
      : (await host()).state.settings;
    const apiKey = data?.apiKey ?? (await getApiKey());
    return testEndpoint(settings, apiKey);
  });
}
