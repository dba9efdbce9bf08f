/** Page scanning messages: a content script says hello, reports blocks, and gets verdicts back (`host.ts`). */
import { siteState } from '@/lib/settings/schema';
import { isOwnSender, onMessage, type PageConfig } from '@/utils/messages';
import type { BackgroundContext } from './context';

const inactive = (reason: PageConfig['reason']): PageConfig => ({
  active: false,
  reason,
  scanText: false,
  scanImages: false,
  hideImagesUntilChecked: false,
  onDemand: false,
});

export function registerPageHandlers({ host, ownId }: BackgroundContext): void {
  onMessage('page:hello', async ({ data, sender }): Promise<PageConfig> => {
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
}
