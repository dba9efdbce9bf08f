/** Messages from the popup and options pages: a tab's state, and "Test connection". */
import { getGuardModel } from '@/lib/guard/registry';
import { normalizeSettings, siteState } from '@/lib/settings/schema';
import { isOwnSender, onMessage, type TabView } from '@/utils/messages';
import { getApiKey } from '@/utils/settings';
import type { BackgroundContext } from './context';
import { testEndpoint } from './host';

export function registerPopupHandlers({ host, ownId }: BackgroundContext): void {
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
}
