/**
 * Guardlens background: a thin layer of listeners over the engine host (`host.ts`). Every listener is registered
 * synchronously at start-up, as an MV3 service worker requires; the host is created on first use and restores
 * whatever the previous worker left pending.
 */
import { getGuardModel } from '@/lib/guard/registry';
import { normalizeSettings, siteState } from '@/lib/settings/schema';
import { isOwnSender, onMessage, type PageConfig, type TabView } from '@/utils/messages';
import { getApiKey } from '@/utils/settings';
import { EngineHost, RESUME_ALARM, testEndpoint } from './host';

export default defineBackground(() => {
  let hostPromise: Promise<EngineHost> | null = null;
  const host = (): Promise<EngineHost> => {
    hostPromise ??= EngineHost.create().catch((err) => {
      hostPromise = null;
      throw err;
    });
    return hostPromise;
  };
  const ownId = browser.runtime.id;

  onMessage('page:hello', async ({ data, sender }): Promise<PageConfig> => {
    const inactive = (reason: PageConfig['reason']): PageConfig => ({
      active: false,
      reason,
      scanText: false,
      scanImages: false,
      hideImagesUntilChecked: false,
      onDemand: false,
    });
    if (!isOwnSender(sender, ownId) || !sender.tab) return inactive('disabled');
    const h = await host();
    const { settings } = h.state;
    const site = siteState(settings, data.url);
    if (site !== 'active') return inactive(site);
    if (sender.tab.incognito && !settings.allowIncognito) return inactive('incognito');
    if (h.notConfigured()) return inactive('not-configured');
    return {
      active: true,
      scanText: settings.scanText,
      scanImages: settings.scanImages,
      hideImagesUntilChecked: settings.hideImagesUntilChecked,
      onDemand: settings.scanOnDemand,
    };
  });

  onMessage('page:blocks', async ({ data, sender }) => {
    const tabId = sender.tab?.id;
    if (!isOwnSender(sender, ownId) || tabId === undefined) return { accepted: 0 };
    const h = await host();
    const { settings } = h.state;
    if (siteState(settings, data.url) !== 'active' || h.notConfigured() || !settings.scanText)
      return { accepted: 0 };
    if (sender.tab?.incognito && !settings.allowIncognito) return { accepted: 0 };
    const blocks = data.blocks
      .filter((b) => typeof b?.ref === 'string' && typeof b.text === 'string' && b.text.trim())
      .map((b) => ({
        ref: b.ref,
        text: b.text,
        priority: b.visible ? ('viewport' as const) : ('page' as const),
      }));
    await h.engine.submitBlocks(tabId, sender.frameId ?? 0, data.url, blocks);
    return { accepted: blocks.length };
  });

  onMessage('tab:state', async ({ data, sender }): Promise<TabView> => {
    if (!isOwnSender(sender, ownId) || sender.tab) throw new Error('Not allowed.');
    const h = await host();
    const { settings } = h.state;
    const model = getGuardModel(settings.guardModel);
    const state = h.engine.tabState(data.tabId);
    const tab = await browser.tabs.get(data.tabId).catch(() => undefined);
    const site = tab?.url ? siteState(settings, tab.url) : 'active';
    const counts = state?.categoryCounts ?? {};
    const view: TabView = {
      tabId: data.tabId,
      configured: h.notConfigured() === null,
      categories: Object.entries(counts)
        .filter(([, count]) => count > 0)
        .map(([code, count]) => {
          const category = model.categories.find((c) => c.code === code);
          return { code, name: category?.name ?? code, description: category?.description ?? '', count };
        }),
      endpoint: {
        provider: settings.provider,
        model: settings.model,
        guardModel: settings.guardModel,
        ...h.endpoint,
      },
    };
    if (state) view.state = state;
    if (site !== 'active') view.inactiveReason = site;
    return view;
  });

  onMessage('endpoint:test', async ({ data, sender }) => {
    if (!isOwnSender(sender, ownId) || sender.tab) throw new Error('Not allowed.');
    const settings = data?.settings
      ? normalizeSettings(data.settings).settings
      : (await host()).state.settings;
    const apiKey = data?.apiKey ?? (await getApiKey());
    return testEndpoint(settings, apiKey);
  });

  browser.tabs.onRemoved.addListener((tabId) => {
    void host().then((h) => h.engine.dropTab(tabId));
  });
  // A new document in a tab (navigation or reload) starts a fresh page state.
  browser.tabs.onUpdated.addListener((tabId, change, tab) => {
    const url = change.url ?? tab.url;
    if ((change.status === 'loading' || change.url) && url)
      void host().then((h) => h.engine.navigated(tabId, url));
  });
  browser.alarms.onAlarm.addListener((alarm) => {
    if (alarm.name === RESUME_ALARM) void host();
  });
  self.addEventListener?.('online', () => void host().then((h) => h.engine.setOnline(true)));
  self.addEventListener?.('offline', () => void host().then((h) => h.engine.setOnline(false)));
  // Resume pending work as soon as the background starts.
  void host().catch(() => undefined);
});
