import { useCallback, useEffect, useState } from 'preact/hooks';
import { CategoryCode, CategoryList, type RevealState, revealKey } from '@/components/CategoryList';
import {
  formatNumber,
  formatTime,
  formatUsd,
  type MessageKey,
  plural,
  problemMessage,
  t,
} from '@/components/i18n';
import { type NotCheckedReason, notCheckedReasons, uncheckedChars } from '@/lib/engine/types';
import type { GuardErrorData } from '@/lib/guard/errors';
import { hostOfUrl, normalizeHost } from '@/lib/settings/schema';
import { errorHint, errorMessage, errorTitle } from '@/utils/i18n';
import type { FlaggedItemView, ManualCheck, TabView } from '@/utils/messages';
import { sendMessage } from '@/utils/messages';
import { MAX_CHARS_PER_PAGE } from '@/utils/protocol/page';
import { loadEffectiveSettings, saveSettings } from '@/utils/settings';
import { type Overall, overallState } from './overall';

/** How often the popup asks the background for the tab's state while it is open. */
const REFRESH_MS = 1000;

/** The tab this popup describes: `?tabId=N` (for "open in a tab" and tests), else the active tab. */
export async function targetTabId(search = location.search): Promise<number | undefined> {
  const param = new URLSearchParams(search).get('tabId');
  if (param !== null) return /^\d{1,10}$/.test(param) ? Number(param) : undefined;
  const [tab] = await browser.tabs.query({ active: true, currentWindow: true });
  return tab?.id;
}

type Notice = { ok: boolean; text: string; reload?: boolean };

export function PopupApp() {
  const [tabId, setTabId] = useState<number | null | undefined>(undefined);
  const [view, setView] = useState<TabView | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [busy, setBusy] = useState(false);
  const [reveals, setReveals] = useState<Record<string, RevealState>>({});
  const inTab = new URLSearchParams(location.search).has('tabId');

  useEffect(() => {
    targetTabId().then(
      (id) => setTabId(id ?? null),
      () => setTabId(null),
    );
  }, []);

  const refresh = useCallback(async () => {
    if (typeof tabId !== 'number') return;
    try {
      setView(await sendMessage('tab:state', { tabId }));
      setLoadError(null);
    } catch (e) {
      setLoadError(e instanceof Error ? e.message : String(e));
    }
  }, [tabId]);

  useEffect(() => {
    if (typeof tabId !== 'number') return;
    void refresh();
    const timer = setInterval(refresh, REFRESH_MS);
    return () => clearInterval(timer);
  }, [tabId, refresh]);

  const openOptions = () => {
    void browser.runtime.openOptionsPage();
    if (!inTab) window.close();
  };

  const openInTab = () => {
    if (typeof tabId !== 'number') return;
    void browser.tabs.create({ url: browser.runtime.getURL(`/popup.html?tabId=${tabId}`) });
    window.close();
  };

  const run = async (task: () => Promise<Notice | null>) => {
    setBusy(true);
    setNotice(null);
    try {
      setNotice(await task());
    } catch (e) {
      setNotice({ ok: false, text: t('popup_action_failed', e instanceof Error ? e.message : String(e)) });
    } finally {
      setBusy(false);
      void refresh();
    }
  };

  /**
   * Asks the page's content scripts to scan (again). A page that does not answer, or answers that it is not
   * scanning (it started while paused, excluded or before Guardlens was set up), needs a reload.
   */
  const rescan = async (): Promise<Notice> => {
    try {
      const answer: unknown = await sendMessage('page:rescan', undefined, tabId as number);
      const refused =
        !!answer && typeof answer === 'object' && (answer as { started?: unknown }).started === false;
      if (!refused) return { ok: true, text: t('popup_rescan_started') };
    } catch {
      // No content script in the page (it was open before Guardlens, or it is a page scripts cannot run in).
    }
    return { ok: false, text: t('popup_rescan_unavailable'), reload: true };
  };

  const setPaused = (paused: boolean) =>
    run(async () => {
      const host = view?.host ?? (view?.url ? hostOfUrl(view.url) : null);
      if (!host) return { ok: false, text: t('popup_pause_no_site') };
      const { settings } = await loadEffectiveSettings();
      const rest = settings.pausedSites.filter((h) => normalizeHost(h) !== host);
      await saveSettings({ pausedSites: paused ? [...rest, host] : rest });
      if (paused) return { ok: true, text: t('popup_paused_notice', host), reload: true };
      const scanned = await rescan();
      return scanned.ok ? { ok: true, text: t('popup_resumed_notice', host) } : scanned;
    });

  const reveal = async (item: FlaggedItemView) => {
    if (typeof tabId !== 'number') return;
    const key = revealKey(item);
    setReveals((r) => ({ ...r, [key]: 'pending' }));
    let state: RevealState;
    try {
      const result = await sendMessage('page:reveal', { ref: item.ref }, { tabId, frameId: item.frameId });
      state = result?.found ? 'found' : 'missing';
    } catch {
      state = 'failed';
    }
    setReveals((r) => ({ ...r, [key]: state }));
  };

  const reload = () =>
    run(async () => {
      await browser.tabs.reload(tabId as number);
      return null;
    });

  return (
    <main class="gl-popup">
      <header class="gl-header">
        <h1>{t('extName')}</h1>
        <div class="gl-row">
          {!inTab && (
            <button
              type="button"
              class="gl-link-button"
              onClick={openInTab}
              disabled={typeof tabId !== 'number'}
            >
              {t('popup_open_in_tab')}
            </button>
          )}
          <button type="button" onClick={openOptions}>
            {t('popup_settings')}
          </button>
        </div>
      </header>
      {tabId === null && <p class="gl-panel">{t('popup_no_tab')}</p>}
      {loadError && (
        <p class="gl-panel gl-error" role="alert">
          {t('popup_load_failed', loadError)}
        </p>
      )}
      {tabId !== null && !view && !loadError && <p aria-busy="true">{t('common_loading')}</p>}
      {view && (
        <Body
          view={view}
          busy={busy}
          reveals={reveals}
          onReveal={reveal}
          onPause={() => setPaused(true)}
          onResume={() => setPaused(false)}
          onRescan={() => run(rescan)}
          onOpenOptions={openOptions}
        />
      )}
      {notice && (
        <div class={`gl-notice ${notice.ok ? 'gl-ok' : 'gl-error'}`} role="status">
          <span>{notice.text}</span>
          {notice.reload && (
            <button type="button" class="gl-link-button" onClick={reload} disabled={busy}>
              {t('popup_reload')}
            </button>
          )}
        </div>
      )}
    </main>
  );
}

function Body({
  view,
  busy,
  reveals,
  onReveal,
  onPause,
  onResume,
  onRescan,
  onOpenOptions,
}: {
  view: TabView;
  busy: boolean;
  reveals: Record<string, RevealState>;
  onReveal: (item: FlaggedItemView) => void;
  onPause: () => void;
  onResume: () => void;
  onRescan: () => void;
  onOpenOptions: () => void;
}) {
  const overall = overallState(view);
  if (overall.kind === 'setup') return <Setup view={view} onOpenOptions={onOpenOptions} />;
  const scannable =
    overall.kind !== 'unsupported' && overall.kind !== 'excluded' && overall.kind !== 'incognito';
  return (
    <>
      <Status overall={overall} view={view} onOpenOptions={onOpenOptions} />
      {view.manualCheck && <ManualCheckCard check={view.manualCheck} />}
      <CategoryList categories={view.categories} items={view.items} onReveal={onReveal} reveals={reveals} />
      {scannable && (
        <section class="gl-section" aria-labelledby="gl-site-title">
          <h2 id="gl-site-title">
            {view.host ? t('popup_site_title', view.host) : t('popup_site_title_none')}
          </h2>
          <div class="gl-row gl-wrap">
            {overall.kind === 'paused' ? (
              <button type="button" class="primary" onClick={onResume} disabled={busy}>
                {t('popup_resume')}
              </button>
            ) : (
              <>
                {view.scanOnDemand ? (
                  <button type="button" class="primary" onClick={onRescan} disabled={busy}>
                    {t('popup_scan_now')}
                  </button>
                ) : (
                  <button type="button" onClick={onRescan} disabled={busy}>
                    {t('popup_rescan')}
                  </button>
                )}
                <button type="button" onClick={onPause} disabled={busy || !view.host}>
                  {t('popup_pause')}
                </button>
              </>
            )}
          </div>
        </section>
      )}
      <Endpoint view={view} showError={overall.kind !== 'error'} onOpenOptions={onOpenOptions} />
    </>
  );
}

function Setup({ view, onOpenOptions }: { view: TabView; onOpenOptions: () => void }) {
  return (
    <section class="gl-panel gl-setup" aria-labelledby="gl-setup-title">
      <h2 id="gl-setup-title">{t('popup_setup_title')}</h2>
      <p>{t('popup_setup_intro')}</p>
      <ol>
        <li>{t('popup_setup_step_provider')}</li>
        <li>{t('popup_setup_step_key')}</li>
        <li>{t('popup_setup_step_test')}</li>
      </ol>
      {view.notConfigured && (
        <p class="gl-hint">{t('popup_setup_missing', problemMessage(view.notConfigured))}</p>
      )}
      <button type="button" class="primary" onClick={onOpenOptions}>
        {t('popup_setup_button')}
      </button>
    </section>
  );
}

const STATUS_ICON: Record<Overall['kind'], string> = {
  setup: '⚙',
  unsupported: '–',
  excluded: '⊘',
  incognito: '⊘',
  paused: '‖',
  error: '⚠',
  waiting: '◷',
  scanning: '↻',
  'on-demand': '▶',
  flagged: '⚑',
  clean: '✓',
  idle: '…',
};

/** A clean result for only part of the page. */
const PARTIAL_ICON = '◐';

function statusText(overall: Overall, view: TabView): { title: string; detail?: string } {
  switch (overall.kind) {
    case 'setup':
      return { title: t('popup_setup_title') };
    case 'unsupported':
      return { title: t('popup_state_unsupported'), detail: t('popup_state_unsupported_detail') };
    case 'excluded':
      return { title: t('popup_state_excluded'), detail: t('popup_state_excluded_detail') };
    case 'incognito':
      return { title: t('popup_state_incognito'), detail: t('popup_state_incognito_detail') };
    case 'paused':
      return { title: t('popup_state_paused'), detail: t('popup_state_paused_detail') };
    case 'error':
      return {
        title: t('popup_state_error'),
        detail:
          overall.flagged > 0
            ? plural(overall.flagged, 'popup_flagged_so_far_one', 'popup_flagged_so_far_many')
            : '',
      };
    case 'waiting':
      return {
        title: t(WAITING_TITLE[view.engine.state] ?? 'popup_state_waiting'),
        detail: [
          view.engine.reason
            ? errorMessage({ message: view.engine.reason, messageText: view.engine.reasonText })
            : '',
          view.engine.until ? t('popup_until', formatTime(view.engine.until)) : '',
        ]
          .filter(Boolean)
          .join(' '),
      };
    case 'scanning':
      return {
        title: t('popup_state_scanning'),
        detail: t('popup_progress', formatNumber(overall.checked), formatNumber(overall.total)),
      };
    case 'on-demand':
      return { title: t('popup_state_on_demand'), detail: t('popup_state_on_demand_detail') };
    case 'flagged':
      return {
        title: plural(overall.flagged, 'popup_state_flagged_one', 'popup_state_flagged_many'),
        detail: plural(overall.checked, 'popup_checked_one', 'popup_checked_many'),
      };
    case 'clean':
      return {
        title: t(
          notCheckedReasons(view.state).length > 0
            ? 'popup_state_not_checked'
            : uncheckedChars(view.state) > 0
              ? 'popup_state_clean_partial'
              : 'popup_state_clean',
        ),
        detail: plural(overall.checked, 'popup_checked_one', 'popup_checked_many'),
      };
    case 'idle':
      return { title: t('popup_state_idle'), detail: t('popup_state_idle_detail') };
  }
}

const WAITING_TITLE: Partial<Record<TabView['engine']['state'], MessageKey>> = {
  offline: 'popup_state_offline',
  'rate-limited': 'popup_state_rate_limited',
  'budget-paused': 'popup_state_budget',
};

function Status({
  overall,
  view,
  onOpenOptions,
}: {
  overall: Overall;
  view: TabView;
  onOpenOptions: () => void;
}) {
  const { title, detail } = statusText(overall, view);
  // A page checked only in part is not shown as all clear (no green, no tick).
  const partial =
    overall.kind === 'clean' && (uncheckedChars(view.state) > 0 || notCheckedReasons(view.state).length > 0);
  const tone =
    overall.kind === 'error'
      ? 'error'
      : overall.kind === 'flagged'
        ? 'flagged'
        : overall.kind === 'clean' && !partial
          ? 'ok'
          : '';
  return (
    <section
      class={`gl-status ${tone ? `gl-status-${tone}` : ''}`}
      aria-labelledby="gl-status-title"
      data-state={overall.kind}
    >
      <div class="gl-status-line" role="status">
        <span class="gl-status-icon" aria-hidden="true">
          {partial ? PARTIAL_ICON : STATUS_ICON[overall.kind]}
        </span>
        <h2 id="gl-status-title" class="gl-status-title">
          {title}
        </h2>
      </div>
      {detail && <p class="gl-status-detail">{detail}</p>}
      {overall.kind === 'scanning' && (
        <progress
          max={overall.total}
          value={overall.checked}
          aria-label={t('popup_progress', formatNumber(overall.checked), formatNumber(overall.total))}
        />
      )}
      {overall.kind === 'error' && view.endpoint.lastError && (
        <LastError error={view.endpoint.lastError} onOpenOptions={onOpenOptions} />
      )}
      {PARTIAL_KINDS.has(overall.kind) && <NotCheckedNotice reasons={notCheckedReasons(view.state)} />}
      {PARTIAL_KINDS.has(overall.kind) && <PartialNotice unchecked={uncheckedChars(view.state)} />}
      {overall.kind === 'excluded' && (
        <button type="button" class="gl-link-button" onClick={onOpenOptions}>
          {t('popup_change_in_settings')}
        </button>
      )}
    </section>
  );
}

function Endpoint({
  view,
  showError,
  onOpenOptions,
}: {
  view: TabView;
  showError: boolean;
  onOpenOptions: () => void;
}) {
  const { endpoint, engine } = view;
  const tokens = engine.today.promptTokens + engine.today.completionTokens;
  return (
    <section class="gl-section gl-endpoint" aria-labelledby="gl-endpoint-title">
      <h2 id="gl-endpoint-title">{t('popup_endpoint_title')}</h2>
      <dl class="gl-facts">
        <dt>{t('popup_endpoint_provider')}</dt>
        <dd>{endpoint.providerLabel}</dd>
        <dt>{t('popup_endpoint_model')}</dt>
        <dd>
          {endpoint.guardModelLabel}
          {endpoint.model && <span class="gl-hint gl-break"> ({endpoint.model})</span>}
        </dd>
        <dt>{t('popup_endpoint_latency')}</dt>
        <dd>
          {endpoint.lastLatencyMs === undefined
            ? t('popup_endpoint_latency_none')
            : t('common_ms', formatNumber(Math.round(endpoint.lastLatencyMs)))}
        </dd>
        <dt>{t('popup_usage_title')}</dt>
        <dd>
          {plural(engine.today.requests, 'popup_usage_requests_one', 'popup_usage_requests_many')}
          {' · '}
          {plural(tokens, 'popup_usage_tokens_one', 'popup_usage_tokens_many')}
          {' · '}
          {endpoint.costKnown
            ? t('popup_usage_cost', formatUsd(engine.today.costUsd))
            : t('popup_usage_cost_unknown')}
          {engine.budgetUsd !== undefined && (
            <span class="gl-hint"> {t('popup_usage_budget', formatUsd(engine.budgetUsd))}</span>
          )}
        </dd>
      </dl>
      {showError && endpoint.lastError && (
        <LastError error={endpoint.lastError} onOpenOptions={onOpenOptions} />
      )}
    </section>
  );
}

/** States in which part of the page may have been left unchecked (more text than one page's limit). */
const PARTIAL_KINDS: ReadonlySet<Overall['kind']> = new Set([
  'clean',
  'flagged',
  'scanning',
  'waiting',
  'error',
  'paused',
]);

const NOT_CHECKED_TEXT: Record<NotCheckedReason, MessageKey> = {
  'scan-error': 'popup_not_checked_scan_error',
  loading: 'popup_not_checked_loading',
};

/** Says why part of the page was not checked (its scan could not start or stopped), one reason a line. */
function NotCheckedNotice({ reasons }: { reasons: NotCheckedReason[] }) {
  if (reasons.length === 0) return null;
  return (
    <div class="gl-panel gl-warning-panel gl-not-checked" data-reasons={reasons.join(' ')}>
      {reasons.map((r) => (
        <p key={r}>{t(NOT_CHECKED_TEXT[r])}</p>
      ))}
    </div>
  );
}

/** Says that only part of the page was checked, and how much was not: never a silent "nothing flagged". */
function PartialNotice({ unchecked }: { unchecked: number }) {
  if (unchecked <= 0) return null;
  return (
    <p class="gl-panel gl-warning-panel gl-partial">
      {plural(unchecked, 'popup_partial_one', 'popup_partial_many', formatNumber(MAX_CHARS_PER_PAGE))}
    </p>
  );
}

/** The endpoint's last error: what failed, how to fix it, and the way to the settings. */
function LastError({ error, onOpenOptions }: { error: GuardErrorData; onOpenOptions: () => void }) {
  return (
    <div class="gl-panel gl-error-panel gl-last-error" role="alert">
      <p>
        <strong>{t('popup_last_error')}</strong> {errorTitle(error.kind)}
      </p>
      <p class="gl-hint gl-break">{errorMessage(error)}</p>
      {errorHint(error) && (
        <p>
          <strong>{t('popup_fix')}</strong> <span class="gl-break">{errorHint(error)}</span>
        </p>
      )}
      <button type="button" class="gl-link-button" onClick={onOpenOptions}>
        {t('popup_open_settings_fix')}
      </button>
    </div>
  );
}

/** The last check the person asked for from the context menu: what was checked and what came of it. */
function ManualCheckCard({ check }: { check: ManualCheck }) {
  return (
    <section class="gl-section gl-check" aria-labelledby="gl-check-title" data-status={check.status}>
      <h2 id="gl-check-title">{t('popup_check_title')}</h2>
      <div class="gl-panel">
        <span class="gl-item-kind">
          {t(check.kind === 'image' ? 'popup_item_kind_image' : 'popup_check_kind_selection')}
          {' · '}
          {formatTime(check.at)}
        </span>
        <span class="gl-snippet">{check.snippet}</span>
        {check.status === 'safe' && <p class="gl-ok">{t('popup_check_safe')}</p>}
        {check.status === 'flagged' && (
          <ul class="gl-codes gl-check-codes" aria-label={t('popup_check_flagged')}>
            {check.categories.map((code, i) => (
              <li key={code}>
                <CategoryCode code={code} /> {check.names[i] ?? code}
              </li>
            ))}
          </ul>
        )}
        {check.status === 'error' && <p class="gl-error">{t('popup_check_error', check.reason ?? '')}</p>}
        {check.status === 'refused' && <p class="gl-error">{t('popup_check_refused', check.reason ?? '')}</p>}
      </div>
    </section>
  );
}
