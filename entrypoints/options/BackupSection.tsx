import { useState } from 'preact/hooks';
import { dateStamp, downloadText } from '@/components/download';
import { formatNumber, t } from '@/components/i18n';
import { ProblemItems } from '@/components/ProblemItems';
import { exportSettings, importSettings, MAX_IMPORT_LENGTH } from '@/lib/settings/io';
import { type Settings, SettingsValidationError } from '@/lib/settings/schema';
import { saveApiKey, saveSettings } from '@/utils/settings';

export interface ImportOutcome {
  ok: boolean;
  /** What happened, for people. */
  text: string;
  /** What was wrong in the file or refused by the policy. */
  problems: string[];
}

/** Reads a settings file and saves what is good in it. Never throws. */
export async function importSettingsFile(text: string): Promise<ImportOutcome> {
  const result = importSettings(text);
  const problems = [...result.problems];
  const keys = Object.keys(result.settings);
  if (keys.length === 0 && result.apiKey === undefined)
    return { ok: false, text: t('options_import_nothing'), problems };
  const refused: string[] = [];
  try {
    if (keys.length > 0) refused.push(...(await saveSettings(result.settings)).refused);
    if (result.apiKey !== undefined) refused.push(...(await saveApiKey(result.apiKey)).refused);
  } catch (e) {
    const reasons =
      e instanceof SettingsValidationError ? e.problems : [e instanceof Error ? e.message : String(e)];
    return { ok: false, text: t('options_import_failed'), problems: [...problems, ...reasons] };
  }
  if (refused.length) problems.push(t('options_import_refused', refused.join(', ')));
  return {
    ok: true,
    text: t('options_import_done', formatNumber(keys.length - refused.filter((k) => k !== 'apiKey').length)),
    problems,
  };
}

export function BackupSection({
  saved,
  apiKey,
  dirty,
  onImported,
}: {
  saved: Settings;
  apiKey: string;
  dirty: boolean;
  onImported: () => Promise<void>;
}) {
  const [withKey, setWithKey] = useState(false);
  const [outcome, setOutcome] = useState<ImportOutcome | null>(null);

  const doExport = () => {
    const name = `guardlens-settings-${dateStamp()}.json`;
    downloadText(name, exportSettings(saved, withKey && apiKey ? { apiKey } : {}), 'application/json');
    setOutcome({ ok: true, text: t('options_export_done', name), problems: [] });
  };

  const doImport = async (input: HTMLInputElement) => {
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    if (file.size > MAX_IMPORT_LENGTH) {
      setOutcome({ ok: false, text: t('options_import_too_large'), problems: [] });
      return;
    }
    let text: string;
    try {
      text = await file.text();
    } catch {
      setOutcome({ ok: false, text: t('options_import_unreadable'), problems: [] });
      return;
    }
    const result = await importSettingsFile(text);
    setOutcome(result);
    if (result.ok) await onImported();
  };

  return (
    <section id="backup" class="gl-card" aria-labelledby="backup-title">
      <h2 id="backup-title">{t('options_backup_title')}</h2>
      <div class="gl-field gl-toggle">
        <div class="gl-toggle-row">
          <input
            id="exportWithKey"
            type="checkbox"
            checked={withKey}
            aria-describedby="exportWithKey-hint"
            onChange={(e) => setWithKey(e.currentTarget.checked)}
          />
          <label for="exportWithKey">{t('options_export_with_key')}</label>
        </div>
        <p id="exportWithKey-hint" class="gl-hint">
          {t('options_export_with_key_hint')}
        </p>
      </div>
      <div class="gl-row gl-wrap gl-actions">
        <button type="button" onClick={doExport} aria-describedby={dirty ? 'export-unsaved' : undefined}>
          {t('options_export')}
        </button>
      </div>
      <div class="gl-field">
        <label for="importFile">{t('options_import')}</label>
        <input
          id="importFile"
          type="file"
          accept="application/json,.json"
          aria-describedby="importFile-hint"
          onChange={(e) => void doImport(e.currentTarget)}
        />
        <p id="importFile-hint" class="gl-hint">
          {t('options_import_hint')}
        </p>
      </div>
      {dirty && (
        <p id="export-unsaved" class="gl-hint">
          {t('options_export_unsaved')}
        </p>
      )}
      {outcome && (
        <div
          class={`gl-panel ${outcome.ok ? 'gl-ok-panel' : 'gl-error-panel'}`}
          role="status"
          data-import={outcome.ok ? 'ok' : 'failed'}
        >
          <p>{outcome.text}</p>
          {outcome.problems.length > 0 && (
            <ul class="gl-problems">
              <ProblemItems problems={outcome.problems} />
            </ul>
          )}
        </div>
      )}
    </section>
  );
}
