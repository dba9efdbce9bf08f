/** The toolbar badge: the number of flagged items in a tab (nothing when there are none). */
import { formatLocale } from '@/utils/locale';

type BadgeApi = {
  setBadgeText(details: { tabId?: number; text: string }): Promise<void>;
  setBadgeBackgroundColor(details: { tabId?: number; color: string }): Promise<void>;
};

function badgeApi(): BadgeApi | undefined {
  const api = browser as unknown as { action?: BadgeApi; browserAction?: BadgeApi };
  return api.action ?? api.browserAction;
}

/** One number format per locale: making one takes about a millisecond, and the badge changes with every verdict. */
const formats = new Map<string, Intl.NumberFormat>();

/** The count as the UI language writes numbers (at most 999, so the badge's few characters hold it). */
export function badgeText(flagged: number): string {
  if (flagged <= 0) return '';
  let language: string | undefined;
  try {
    language = browser.i18n.getUILanguage();
  } catch {
    language = undefined;
  }
  const locale = formatLocale(language);
  let format = formats.get(locale);
  if (!format) {
    format = new Intl.NumberFormat(locale, { useGrouping: false });
    formats.set(locale, format);
  }
  return format.format(Math.min(flagged, 999));
}

export async function setBadge(tabId: number, flagged: number): Promise<void> {
  const api = badgeApi();
  if (!api) return;
  try {
    await api.setBadgeText({ tabId, text: badgeText(flagged) });
    if (flagged > 0) await api.setBadgeBackgroundColor({ tabId, color: '#b42318' });
  } catch {
    // The tab closed in the meantime.
  }
}
