import { useEffect, useState } from 'preact/hooks';
import { describedBy, Field, type Managed, Toggle } from '@/components/Form';
import { formatNumber, t } from '@/components/i18n';
import { SiteListField } from '@/components/SiteList';
import {
  CHUNK_TOKENS_MAX,
  CHUNK_TOKENS_MIN,
  CONCURRENCY_MAX,
  CONCURRENCY_MIN,
  DAILY_BUDGET_MAX_USD,
  type Settings,
} from '@/lib/settings/schema';
import {
  hasImageOrigins,
  imageAccess,
  requestImageOrigins,
  toggleImages,
  watchOriginPermissions,
} from './permissions';

/** A number typed as text: the setting changes only when the text is a number in range. */
function NumberField({
  id,
  label,
  hint,
  value,
  min,
  max,
  step,
  integer,
  managed,
  onChange,
}: {
  id: string;
  label: string;
  hint: string;
  value: number;
  min: number;
  max: number;
  step: number;
  integer?: boolean;
  managed?: Managed;
  onChange: (value: number) => void;
}) {
  const [text, setText] = useState(String(value));
  useEffect(() => {
    if (Number(text) !== value) setText(String(value));
  }, [value]);
  const number = Number(text);
  const valid =
    text.trim() !== '' &&
    Number.isFinite(number) &&
    number >= min &&
    number <= max &&
    (!integer || Number.isInteger(number));
  return (
    <Field id={id} label={label} hint={hint} managed={managed}>
      <input
        id={id}
        type="number"
        inputMode={integer ? 'numeric' : 'decimal'}
        min={min}
        max={max}
        step={step}
        value={text}
        disabled={managed === 'locked'}
        aria-invalid={!valid}
        aria-describedby={[describedBy(id, true, managed), valid ? '' : `${id}-invalid`]
          .filter(Boolean)
          .join(' ')}
        onInput={(e) => {
          const next = e.currentTarget.value;
          setText(next);
          const n = Number(next);
          if (
            next.trim() !== '' &&
            Number.isFinite(n) &&
            n >= min &&
            n <= max &&
            (!integer || Number.isInteger(n))
          )
            onChange(n);
        }}
      />
      {!valid && (
        <p id={`${id}-invalid`} class="gl-hint gl-error">
          {t('options_number_invalid', formatNumber(min), formatNumber(max))}
        </p>
      )}
    </Field>
  );
}

export function ScanningSection({
  draft,
  managed,
  incognitoAllowed,
  update,
}: {
  draft: Settings;
  managed: (key: keyof Settings) => Managed;
  /** Whether the browser lets Guardlens run in private windows (undefined: not known). */
  incognitoAllowed: boolean | undefined;
  update: (patch: Partial<Settings>) => void;
}) {
  const [granted, setGranted] = useState<boolean | undefined>(undefined);
  const [denied, setDenied] = useState(false);
  useEffect(() => {
    let live = true;
    const refresh = () =>
      void hasImageOrigins().then((has) => {
        if (!live) return;
        setGranted(has);
        if (has) setDenied(false);
      });
    refresh();
    const unwatch = watchOriginPermissions(refresh);
    return () => {
      live = false;
      unwatch();
    };
  }, []);
  return (
    <>
      <section id="scanning" class="gl-card" aria-labelledby="scanning-title">
        <h2 id="scanning-title">{t('options_scanning_title')}</h2>
        <Toggle
          id="scanText"
          label={t('options_scan_text')}
          hint={t('options_scan_text_hint')}
          checked={draft.scanText}
          managed={managed('scanText')}
          onChange={(scanText) => update({ scanText })}
        />
        <Toggle
          id="scanImages"
          label={t('options_scan_images')}
          hint={t('options_scan_images_hint')}
          checked={draft.scanImages}
          managed={managed('scanImages')}
          onChange={(scanImages) => {
            // The permission request must start in this click (see permissions.ts).
            void toggleImages(
              scanImages,
              update,
              (allowed) => {
                setGranted(allowed);
                setDenied(!allowed);
              },
              granted === true,
            );
          }}
        />
        <ImageAccessNote
          scanImages={draft.scanImages}
          granted={granted}
          denied={denied}
          onAllow={() => {
            void requestImageOrigins().then((allowed) => {
              setGranted(allowed);
              setDenied(!allowed);
            });
          }}
        />
        <Toggle
          id="hideImagesUntilChecked"
          label={t('options_hide_images')}
          hint={t('options_hide_images_hint')}
          checked={draft.hideImagesUntilChecked}
          disabled={!draft.scanImages}
          managed={managed('hideImagesUntilChecked')}
          onChange={(hideImagesUntilChecked) => update({ hideImagesUntilChecked })}
        />
        <NumberField
          id="chunkTokens"
          label={t('options_chunk_tokens')}
          hint={t('options_chunk_tokens_hint')}
          value={draft.chunkTokens}
          min={CHUNK_TOKENS_MIN}
          max={CHUNK_TOKENS_MAX}
          step={100}
          integer
          managed={managed('chunkTokens')}
          onChange={(chunkTokens) => update({ chunkTokens })}
        />
        <NumberField
          id="concurrency"
          label={t('options_concurrency')}
          hint={t('options_concurrency_hint')}
          value={draft.concurrency}
          min={CONCURRENCY_MIN}
          max={CONCURRENCY_MAX}
          step={1}
          integer
          managed={managed('concurrency')}
          onChange={(concurrency) => update({ concurrency })}
        />
      </section>

      <section id="privacy" class="gl-card" aria-labelledby="privacy-title">
        <h2 id="privacy-title">{t('options_privacy_title')}</h2>
        <SiteListField
          id="excludedSites"
          label={t('options_excluded_sites')}
          hint={t('options_excluded_sites_hint')}
          value={draft.excludedSites}
          managed={managed('excludedSites')}
          onChange={(excludedSites) => update({ excludedSites })}
        />
        <PausedSites draft={draft} update={update} />
        <Toggle
          id="scanOnDemand"
          label={t('options_on_demand')}
          hint={t('options_on_demand_hint')}
          checked={draft.scanOnDemand}
          managed={managed('scanOnDemand')}
          onChange={(scanOnDemand) => update({ scanOnDemand })}
        />
        <Toggle
          id="allowIncognito"
          label={t('options_incognito')}
          hint={
            incognitoAllowed === false ? t('options_incognito_hint_browser_off') : t('options_incognito_hint')
          }
          checked={draft.allowIncognito}
          managed={managed('allowIncognito')}
          onChange={(allowIncognito) => update({ allowIncognito })}
        />
      </section>

      <section id="budget" class="gl-card" aria-labelledby="budget-title">
        <h2 id="budget-title">{t('options_budget_title')}</h2>
        <NumberField
          id="dailyBudgetUsd"
          label={t('options_budget')}
          hint={t('options_budget_hint')}
          value={draft.dailyBudgetUsd}
          min={0}
          max={DAILY_BUDGET_MAX_USD}
          step={0.01}
          managed={managed('dailyBudgetUsd')}
          onChange={(dailyBudgetUsd) => update({ dailyBudgetUsd })}
        />
        <Toggle
          id="budgetAppliesToPrompts"
          label={t('options_budget_prompts')}
          hint={t('options_budget_prompts_hint')}
          checked={draft.budgetAppliesToPrompts}
          disabled={draft.dailyBudgetUsd === 0}
          managed={managed('budgetAppliesToPrompts')}
          onChange={(budgetAppliesToPrompts) => update({ budgetAppliesToPrompts })}
        />
      </section>
    </>
  );
}

/**
 * Whether images from other sites can be checked: the browser lets Guardlens download them only with access to
 * those sites. Shown while image checks are on, with a button to ask when the access is missing (images turned
 * on by a policy or an imported file, or the permission taken back in the browser's settings).
 */
function ImageAccessNote({
  scanImages,
  granted,
  denied,
  onAllow,
}: {
  scanImages: boolean;
  granted: boolean | undefined;
  denied: boolean;
  onAllow: () => void;
}) {
  const access = imageAccess(scanImages, granted);
  if (access === 'off' || access === 'unknown') return null;
  if (access === 'granted')
    return (
      <p id="image-access" class="gl-hint" data-access="granted">
        {t('options_images_access_granted')}
      </p>
    );
  return (
    <div id="image-access" class="gl-field" data-access="needed" role="status">
      <p class="gl-hint gl-error">{t('options_images_access_needed')}</p>
      {denied && <p class="gl-hint">{t('options_images_access_denied')}</p>}
      <button type="button" id="image-access-allow" onClick={onAllow}>
        {t('options_images_access_allow')}
      </button>
    </div>
  );
}

function PausedSites({ draft, update }: { draft: Settings; update: (patch: Partial<Settings>) => void }) {
  return (
    <div class="gl-field">
      <h3 id="paused-title">{t('options_paused_sites')}</h3>
      {draft.pausedSites.length === 0 ? (
        <p class="gl-hint">{t('options_paused_sites_none')}</p>
      ) : (
        <ul class="gl-chips" aria-labelledby="paused-title">
          {draft.pausedSites.map((site) => (
            <li key={site} class="gl-chip">
              <span>{site}</span>
              <button
                type="button"
                class="gl-link-button"
                aria-label={t('options_paused_resume_label', site)}
                onClick={() => update({ pausedSites: draft.pausedSites.filter((s) => s !== site) })}
              >
                {t('options_paused_resume')}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
