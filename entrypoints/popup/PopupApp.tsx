import { useEffect, useState } from 'preact/hooks';
import { type CategoryCount, CategoryList } from '@/components/CategoryList';
import type { TabView } from '@/utils/messages';
import { sendMessage } from '@/utils/messages';

/** The tab this popup describes: `?tabId=N` (for "open in a tab" and tests), else the active tab. */
async function targetTabId(): Promise<number | undefined> {
  const param = new URLSearchParams(location.search).get('tabId');
  if (param && /^\d+$/.test(param)) return Number(param);
  const [tab] = await browser.tabs.query({ active: true, currentWindow: true });
  return tab?.id;
}

export function PopupApp() {
  const [view, setView] = useState<TabView | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let stop = false;
    const refresh = async () => {
      const tabId = await targetTabId();
      if (tabId === undefined) return setError('No tab to show.');
      try {
        const next = await sendMessage('tab:state', { tabId });
        if (!stop) setView(next);
      } catch (e) {
        if (!stop) setError(e instanceof Error ? e.message : String(e));
      }
    };
    refresh();
    const timer = setInterval(refresh, 1000);
    return () => {
      stop = true;
      clearInterval(timer);
    };
  }, []);

  const openOptions = () => browser.runtime.openOptionsPage();

  return (
    <main class="gl-popup" style={{ width: '22rem', padding: '0.75rem' }}>
      <h1>Guardlens</h1>
      {error && <p class="gl-error">{error}</p>}
      {view && <Summary view={view} />}
      {view && (
        <CategoryList
          items={view.categories.map(
            (c): CategoryCount => ({
              category: { code: c.code, name: c.name, description: c.description, promptName: c.name },
              count: c.count,
            }),
          )}
        />
      )}
      <p>
        <button type="button" onClick={openOptions}>
          Settings
        </button>
      </p>
    </main>
  );
}

function Summary({ view }: { view: TabView }) {
  if (!view.configured) return <p>Guardlens is not set up yet. Choose a provider in Settings.</p>;
  if (view.inactiveReason === 'excluded') return <p>This site is excluded: nothing is checked here.</p>;
  if (view.inactiveReason === 'paused') return <p>Paused on this site.</p>;
  const flagged = view.state?.flagged.length ?? 0;
  const scanned = view.state?.scanned ?? 0;
  const pending = view.state?.pending ?? 0;
  return (
    <div role="status">
      {pending > 0 ? (
        <p>
          Scanning: {scanned} of {scanned + pending} checked
        </p>
      ) : flagged > 0 ? (
        <p>
          <strong>
            {flagged} item{flagged === 1 ? '' : 's'} flagged
          </strong>
        </p>
      ) : (
        <p>Nothing flagged ({scanned} checked).</p>
      )}
      {view.endpoint.lastError && (
        <p class="gl-error">
          {view.endpoint.lastError.message} {view.endpoint.lastError.hint}
        </p>
      )}
    </div>
  );
}
