/** The toolbar badge: the number of flagged items in a tab (nothing when there are none). */
type BadgeApi = {
  setBadgeText(details: { tabId?: number; text: string }): Promise<void>;
  setBadgeBackgroundColor(details: { tabId?: number; color: string }): Promise<void>;
};

function badgeApi(): BadgeApi | undefined {
  const api = browser as unknown as { action?: BadgeApi; browserAction?: BadgeApi };
  return api.action ?? api.browserAction;
}

export async function setBadge(tabId: number, flagged: number): Promise<void> {
  const api = badgeApi();
  if (!api) return;
  try {
    await api.setBadgeText({ tabId, text: flagged > 0 ? String(Math.min(flagged, 999)) : '' });
    if (flagged > 0) await api.setBadgeBackgroundColor({ tabId, color: '#b42318' });
  } catch {
    // The tab closed in the meantime.
  }
}
