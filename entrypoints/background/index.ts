/**
 * Guardlens background: a thin layer of listeners over the engine host (`host.ts`). Every listener is registered
 * synchronously at start-up, as an MV3 service worker requires; the host is created on first use and restores
 * whatever the previous worker left pending. Each feature registers its own messages (`*-handlers.ts`).
 */
import type { BackgroundContext } from './context';
import { registerContextMenu } from './context-menu';
import { registerHistory } from './history';
import { EngineHost, RESUME_ALARM } from './host';
import { registerPageHandlers } from './page-handlers';
import { registerPopupHandlers } from './popup-handlers';
import { registerPromptHandlers } from './prompt-handlers';

/**
 * Keeps `storage.local`, where the API key lives, from content scripts: ours never read storage (they get what
 * they need by message), so a compromised page renderer cannot read the key through them either. Chrome has the
 * switch (`setAccessLevel`, kept across restarts); Firefox has none yet, and there the area stays readable.
 */
async function keepStorageFromContentScripts(): Promise<void> {
  const local = browser.storage.local as { setAccessLevel?(options: { accessLevel: string }): Promise<void> };
  try {
    await local.setAccessLevel?.({ accessLevel: 'TRUSTED_CONTEXTS' });
  } catch {
    // An older browser that has the method for storage.session only.
  }
}

export default defineBackground(() => {
  let hostPromise: Promise<EngineHost> | null = null;
  const host = (): Promise<EngineHost> => {
    hostPromise ??= EngineHost.create().catch((err) => {
      hostPromise = null;
      throw err;
    });
    return hostPromise;
  };
  const context: BackgroundContext = { host, ownId: browser.runtime.id };

  registerPageHandlers(context);
  registerContextMenu(context);
  registerPopupHandlers(context);
  registerPromptHandlers(context);
  registerHistory(context);

  browser.tabs.onRemoved.addListener((tabId) => {
    void host().then((h) => h.engine.dropTab(tabId));
  });
  // A new document in a tab (navigation or reload) starts a fresh page state.
  browser.tabs.onUpdated.addListener((tabId, change, tab) => {
    const url = change.url ?? tab.url;
    if ((change.status === 'loading' || change.url) && url)
      void host().then((h) => h.engine.navigated(tabId, url));
  });
  // Access to the endpoint's site granted: an endpoint refused for want of it is tried again at once.
  browser.permissions.onAdded.addListener((granted) => {
    if (granted.origins?.length) void host().then((h) => h.originsGranted());
  });
  browser.alarms.onAlarm.addListener((alarm) => {
    if (alarm.name === RESUME_ALARM) void host();
  });
  self.addEventListener?.('online', () => void host().then((h) => h.engine.setOnline(true)));
  self.addEventListener?.('offline', () => void host().then((h) => h.engine.setOnline(false)));
  void keepStorageFromContentScripts();
  // Resume pending work as soon as the background starts.
  void host().catch(() => undefined);
});
