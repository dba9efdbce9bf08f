/**
 * Page scanning messages: a content script says hello, reports blocks and images, and gets verdicts back
 * (`host.ts` delivers flagged text verdicts; an image's result is the answer to its own message). The popup can
 * ask for a scan of a tab (`page:scan-now`, for "scan only on demand").
 */
import { isNotCheckedReason } from '@/lib/engine/types';
import { siteState } from '@/lib/settings/schema';
import { pageStrings, templateMessage } from '@/utils/i18n';
import { type InactiveReason, isOwnSender, onMessage, type PageConfig, sendMessage } from '@/utils/messages';
import type { BackgroundContext } from './context';
import type { EngineHost } from './host';
import { checkImage, IMAGE_TEXTS, imageSupport } from './images';

const inactive = (reason: InactiveReason): PageConfig => ({
  active: false,
  reason,
  scanText: false,
  scanImages: false,
  hideImagesUntilChecked: false,
  onDemand: false,
  failMode: 'open',
});

interface SenderTab {
  url?: string;
  incognito?: boolean;
}

/** Why a frame at `url` in `tab` must not be scanned, or null. The tab's own site counts for its frames. */
export function inactiveReason(
  h: EngineHost,
  url: string,
  tab: SenderTab | undefined,
): InactiveReason | null {
  // Web pages only: a tab on about:blank, a browser page or an extension page is never scanned, even when a
  // script writes text into it (the popup calls these tabs unsupported). Frames inside a web page count.
  if (!/^https?:\/\//i.test(tab?.url ?? url)) return 'disabled';
  const { settings } = h.state;
  const site = siteState(settings, url);
  if (site !== 'active') return site;
  if (tab?.url && tab.url !== url) {
    const top = siteState(settings, tab.url);
    if (top !== 'active') return top;
  }
  if (tab?.incognito && !settings.allowIncognito) return 'incognito';
  if (h.notConfigured()) return 'not-configured';
  return null;
}

/** Asks every frame of a tab to scan now. The answer is the first frame's. */
export async function scanTab(
  tabId: number,
): Promise<{ started: boolean; reason?: InactiveReason | 'unreachable' }> {
  try {
    const answer = await sendMessage('page:rescan', undefined, { tabId });
    return answer ?? { started: false, reason: 'unreachable' };
  } catch {
    return { started: false, reason: 'unreachable' };
  }
}

export function registerPageHandlers({ host, ownId }: BackgroundContext): void {
  onMessage('page:hello', async ({ data, sender }): Promise<PageConfig> => {
    if (!isOwnSender(sender, ownId) || !sender.tab || typeof data?.url !== 'string')
      return inactive('disabled');
    const h = await host();
    const reason = inactiveReason(h, data.url, sender.tab);
    if (reason) return inactive(reason);
    const { settings } = h.state;
    return {
      active: true,
      scanText: settings.scanText,
      scanImages: settings.scanImages && imageSupport(settings) === null,
      hideImagesUntilChecked: settings.hideImagesUntilChecked,
      onDemand: settings.scanOnDemand,
      failMode: settings.failMode,
      strings: pageStrings(),
    };
  });

  onMessage('page:blocks', async ({ data, sender }) => {
    const tabId = sender.tab?.id;
    if (!isOwnSender(sender, ownId) || tabId === undefined || typeof data?.url !== 'string')
      return { accepted: 0 };
    const h = await host();
    const reason = inactiveReason(h, data.url, sender.tab);
    if (reason) return { accepted: 0, inactive: reason };
    if (!h.state.settings.scanText || !Array.isArray(data.blocks)) return { accepted: 0 };
    const blocks = data.blocks
      .filter((b) => typeof b?.ref === 'string' && b.ref && typeof b.text === 'string' && b.text.trim())
      .map((b) => ({
        ref: b.ref,
        text: b.text,
        priority: b.visible ? ('viewport' as const) : ('page' as const),
      }));
    await h.engine.submitBlocks(tabId, sender.frameId ?? 0, data.url, blocks);
    const unchecked = data.unchecked;
    if (typeof unchecked === 'number' && Number.isSafeInteger(unchecked) && unchecked >= 0)
      await h.engine.noteUnchecked(tabId, sender.frameId ?? 0, data.url, unchecked);
    return { accepted: blocks.length };
  });

  onMessage('page:not-checked', async ({ data, sender }) => {
    const tabId = sender.tab?.id;
    if (!isOwnSender(sender, ownId) || tabId === undefined || typeof data?.url !== 'string') return;
    const reason = data.reason === null ? null : isNotCheckedReason(data.reason) ? data.reason : undefined;
    if (reason === undefined) return;
    const h = await host();
    await h.engine.noteNotChecked(tabId, sender.frameId ?? 0, data.url, reason);
  });

  onMessage('page:image', async ({ data, sender }) => {
    const tabId = sender.tab?.id;
    const image = data?.image;
    if (!isOwnSender(sender, ownId) || tabId === undefined)
      return { status: 'error', reason: 'Not allowed.' };
    if (
      typeof data.url !== 'string' ||
      typeof image?.src !== 'string' ||
      typeof image.ref !== 'string' ||
      !image.ref
    )
      return { status: 'error', reason: 'The image report is incomplete.' };
    const h = await host();
    const reason = inactiveReason(h, data.url, sender.tab);
    if (reason)
      return { status: 'skipped', reason: templateMessage(IMAGE_TEXTS, 'image_skipped_inactive', reason) };
    const { settings } = h.state;
    const unsupported = settings.scanImages
      ? imageSupport(settings)
      : templateMessage(IMAGE_TEXTS, 'image_skipped_off');
    if (unsupported) return { status: 'skipped', reason: unsupported };
    return checkImage(
      h,
      {
        tabId,
        frameId: sender.frameId ?? 0,
        url: data.url,
        pageUrl: sender.tab?.url ?? data.url,
        ref: image.ref,
        priority: image.visible ? 'viewport' : 'image',
      },
      {
        src: image.src,
        alt: typeof image.alt === 'string' ? image.alt : '',
        context: typeof image.context === 'string' ? image.context : '',
      },
      undefined,
      // An image of the frame's own site, which the background may not download: the frame reads it.
      async (src) => {
        const answer = await sendMessage('page:read-image', { src }, { tabId, frameId: sender.frameId ?? 0 });
        if (!answer || 'error' in answer)
          throw new Error(answer?.error ?? templateMessage(IMAGE_TEXTS, 'image_error_unreadable'));
        return answer.dataUrl;
      },
    );
  });

  onMessage('page:scan-now', async ({ data, sender }) => {
    // From an extension page (the popup), not a content script.
    if (!isOwnSender(sender, ownId) || !sender.url?.startsWith(browser.runtime.getURL('/')))
      throw new Error('Not allowed.');
    if (!Number.isInteger(data?.tabId)) throw new Error('page:scan-now needs a tab id.');
    return scanTab(data.tabId);
  });
}
