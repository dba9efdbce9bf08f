import { useEffect, useState } from 'preact/hooks';
import { CategoryCode } from '@/components/CategoryList';
import { dateStamp, downloadText } from '@/components/download';
import { type Managed, Toggle } from '@/components/Form';
import { formatDateTime, formatNumber, plural, t } from '@/components/i18n';
import type { Settings } from '@/lib/settings/schema';
import {
  clearHistory,
  type HistoryEntry,
  historyClearedAtItem,
  historyItem,
  historyToCsv,
  historyToJson,
  readHistory,
} from '@/utils/history';

/** Rows shown at once; the export holds every entry. */
export const HISTORY_ROWS_SHOWN = 100;

export function HistorySection({
  draft,
  managed,
  update,
}: {
  draft: Settings;
  managed: (key: keyof Settings) => Managed;
  update: (patch: Partial<Settings>) => void;
}) {
  const [entries, setEntries] = useState<HistoryEntry[] | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    const load = () => readHistory().then(setEntries, () => setEntries([]));
    void load();
    const stops = [historyItem.watch(load), historyClearedAtItem.watch(load)];
    return () => {
      for (const stop of stops) stop();
    };
  }, []);

  const exportAs = (kind: 'csv' | 'json') => {
    if (!entries?.length) return;
    const name = `guardlens-history-${dateStamp()}.${kind}`;
    if (kind === 'csv') downloadText(name, historyToCsv(entries), 'text/csv;charset=utf-8');
    else downloadText(name, historyToJson(entries), 'application/json');
    setNotice(t('options_history_exported', name));
  };

  const clear = async () => {
    await clearHistory();
    setConfirming(false);
    setEntries([]);
    setNotice(t('options_history_cleared'));
  };

  const newestFirst = [...(entries ?? [])].reverse();
  const shown = newestFirst.slice(0, HISTORY_ROWS_SHOWN);

  return (
    <section id="history" class="gl-card" aria-labelledby="history-title">
      <h2 id="history-title">{t('options_history_title')}</h2>
      <Toggle
        id="historyEnabled"
        label={t('options_history_enabled')}
        hint={t('options_history_enabled_hint')}
        checked={draft.historyEnabled}
        managed={managed('historyEnabled')}
        onChange={(historyEnabled) => update({ historyEnabled })}
      />
      {entries === null ? (
        <p aria-busy="true">{t('common_loading')}</p>
      ) : entries.length === 0 ? (
        <p class="gl-hint" id="history-empty">
          {t('options_history_empty')}
        </p>
      ) : (
        <>
          <p class="gl-hint" id="history-count">
            {entries.length > shown.length
              ? t('options_history_showing', formatNumber(shown.length), formatNumber(entries.length))
              : plural(entries.length, 'options_history_count_one', 'options_history_count_many')}
          </p>
          <div class="gl-table-wrap">
            <table class="gl-table gl-history-table">
              <caption class="gl-sr-only">{t('options_history_caption')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('options_history_col_time')}</th>
                  <th scope="col">{t('options_history_col_site')}</th>
                  <th scope="col">{t('options_history_col_categories')}</th>
                  <th scope="col">{t('options_history_col_snippet')}</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((e) => (
                  <tr key={`${e.key}-${e.at}`}>
                    <td class="gl-nowrap">{formatDateTime(e.at)}</td>
                    <td class="gl-break" title={e.url}>
                      {e.site}
                    </td>
                    <td>
                      <ul class="gl-codes">
                        {e.categories.map((code, i) => (
                          <li key={code} title={e.names[i]}>
                            <CategoryCode code={code} /> <span class="gl-sr-only">{e.names[i]}</span>
                          </li>
                        ))}
                      </ul>
                    </td>
                    <td class="gl-snippet-cell">{e.snippet}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <div class="gl-row gl-wrap gl-actions">
        <button type="button" disabled={!entries?.length} onClick={() => exportAs('csv')}>
          {t('options_history_export_csv')}
        </button>
        <button type="button" disabled={!entries?.length} onClick={() => exportAs('json')}>
          {t('options_history_export_json')}
        </button>
        {confirming ? (
          <>
            <button type="button" class="danger" onClick={clear}>
              {t('options_history_clear_confirm', formatNumber(entries?.length ?? 0))}
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              {t('common_cancel')}
            </button>
          </>
        ) : (
          <button type="button" disabled={!entries?.length} onClick={() => setConfirming(true)}>
            {t('options_history_clear')}
          </button>
        )}
      </div>
      {notice && (
        <p role="status" class="gl-hint">
          {notice}
        </p>
      )}
    </section>
  );
}
