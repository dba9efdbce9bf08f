import { useState } from 'preact/hooks';
import { Choice, describedBy, Field, type Managed, Toggle } from '@/components/Form';
import { formatNumber, type MessageKey, t } from '@/components/i18n';
import { GUARD_MODELS, listGuardModels } from '@/lib/guard/registry';
import type { GuardModelId } from '@/lib/guard/types';
import { getPreset, isPresetId, listPresets, type PresetId } from '@/lib/providers/presets';
import type { RequestMode, Settings } from '@/lib/settings/schema';
import { errorHint, errorMessage, errorTitle, presetLabel } from '@/utils/i18n';
import type { EndpointTestResult } from '@/utils/messages';

const PRESET_NOTE: Record<PresetId, MessageKey> = {
  openrouter: 'preset_note_openrouter',
  groq: 'preset_note_groq',
  together: 'preset_note_together',
  deepinfra: 'preset_note_deepinfra',
  fireworks: 'preset_note_fireworks',
  ollama: 'preset_note_ollama',
  custom: 'preset_note_custom',
};

export type TestState = EndpointTestResult | { running: true } | { ok: false; permission: string } | null;

/** The settings a new provider brings: its base URL, a generation it serves and that generation's model id. */
export function presetPatch(draft: Settings, id: PresetId): Partial<Settings> {
  const next = getPreset(id);
  const served = Object.keys(next.models) as GuardModelId[];
  const guardModel = id === 'custom' || served.includes(draft.guardModel) ? draft.guardModel : served[0];
  return {
    provider: id,
    baseUrl: next.baseUrl || (draft.provider === 'custom' ? draft.baseUrl : ''),
    guardModel: guardModel ?? draft.guardModel,
    model: (guardModel && next.models[guardModel]) || (id === 'custom' ? draft.model : ''),
    requestMode: next.raw ? draft.requestMode : 'chat',
    sendBos: next.sendBos,
  };
}

export function EndpointSection({
  draft,
  apiKey,
  managed,
  test,
  update,
  setApiKey,
  onTest,
}: {
  draft: Settings;
  apiKey: string;
  managed: (key: keyof Settings | 'apiKey') => Managed;
  test: TestState;
  update: (patch: Partial<Settings>) => void;
  setApiKey: (key: string) => void;
  onTest: () => void;
}) {
  const [showKey, setShowKey] = useState(false);
  const preset = getPreset(draft.provider);
  const models =
    draft.provider === 'custom' ? listGuardModels() : listGuardModels().filter((m) => preset.models[m.id]);
  const presetModels = Object.values(preset.models).filter((m): m is string => !!m);
  const keyManaged = managed('apiKey');
  const keyProps = {
    id: 'apiKey',
    value: apiKey,
    autocomplete: 'off',
    spellcheck: false,
    disabled: keyManaged === 'locked',
    'aria-describedby': describedBy('apiKey', true, keyManaged),
    onInput: (e: Event) => setApiKey((e.currentTarget as HTMLInputElement).value.trim()),
  };

  return (
    <section id="endpoint" class="gl-card" aria-labelledby="endpoint-title">
      <h2 id="endpoint-title">{t('options_endpoint_title')}</h2>
      <p class="gl-hint">{t('options_endpoint_intro')}</p>

      <Choice
        id="provider"
        label={t('options_provider')}
        value={draft.provider}
        options={listPresets().map((p) => ({ value: p.id, label: presetLabel(p) }))}
        managed={managed('provider')}
        hint={
          <>
            {t(PRESET_NOTE[draft.provider])}{' '}
            <a href={preset.docsUrl} target="_blank" rel="noopener noreferrer">
              {t('options_provider_docs', presetLabel(preset))}
            </a>
          </>
        }
        onChange={(id) => isPresetId(id) && update(presetPatch(draft, id))}
      />

      <Field
        id="baseUrl"
        label={t('options_base_url')}
        hint={t('options_base_url_hint')}
        managed={managed('baseUrl')}
      >
        <input
          id="baseUrl"
          type="url"
          value={draft.baseUrl}
          placeholder="https://example.org/v1"
          spellcheck={false}
          autocomplete="off"
          disabled={managed('baseUrl') === 'locked'}
          aria-describedby={describedBy('baseUrl', true, managed('baseUrl'))}
          onInput={(e) => update({ baseUrl: e.currentTarget.value.trim() })}
        />
      </Field>

      <Field
        id="apiKey"
        label={t('options_api_key')}
        hint={preset.keyRequired ? t('options_api_key_hint') : t('options_api_key_hint_optional')}
        managed={keyManaged}
      >
        <div class="gl-row">
          {showKey ? <input type="text" {...keyProps} /> : <input type="password" {...keyProps} />}
          <button
            type="button"
            aria-pressed={showKey}
            aria-controls="apiKey"
            disabled={keyManaged === 'locked'}
            onClick={() => setShowKey(!showKey)}
          >
            {showKey ? t('options_api_key_hide') : t('options_api_key_show')}
          </button>
        </div>
      </Field>

      <Choice
        id="guardModel"
        label={t('options_generation')}
        hint={t('options_generation_hint')}
        value={draft.guardModel}
        options={models.map((m) => ({ value: m.id, label: m.label }))}
        managed={managed('guardModel')}
        onChange={(id) => {
          const model = GUARD_MODELS[id];
          if (model) update({ guardModel: model.id, model: preset.models[model.id] ?? draft.model });
        }}
      />

      <Field
        id="model"
        label={t('options_model_id')}
        hint={t('options_model_id_hint')}
        managed={managed('model')}
      >
        <input
          id="model"
          type="text"
          value={draft.model}
          list={presetModels.length ? 'model-choices' : undefined}
          spellcheck={false}
          autocomplete="off"
          disabled={managed('model') === 'locked'}
          aria-describedby={describedBy('model', true, managed('model'))}
          onInput={(e) => update({ model: e.currentTarget.value.trim() })}
        />
        {presetModels.length > 0 && (
          <datalist id="model-choices">
            {presetModels.map((m) => (
              <option key={m} value={m} />
            ))}
          </datalist>
        )}
      </Field>

      <Choice<RequestMode>
        id="requestMode"
        label={t('options_request_mode')}
        hint={
          preset.raw
            ? t('options_request_mode_hint')
            : t('options_request_mode_chat_only', presetLabel(preset))
        }
        value={draft.requestMode}
        options={[
          { value: 'chat', label: t('options_request_mode_chat') },
          { value: 'raw', label: t('options_request_mode_raw'), disabled: !preset.raw },
        ]}
        managed={managed('requestMode')}
        onChange={(mode) => update({ requestMode: mode })}
      />

      {draft.requestMode === 'raw' && (
        <Toggle
          id="sendBos"
          label={t('options_send_bos')}
          hint={t('options_send_bos_hint')}
          checked={draft.sendBos}
          managed={managed('sendBos')}
          onChange={(sendBos) => update({ sendBos })}
        />
      )}

      <div class="gl-row gl-actions">
        <button type="button" onClick={onTest} disabled={!!test && 'running' in test}>
          {t('options_test')}
        </button>
      </div>
      <TestResult test={test} />
    </section>
  );
}

function TestResult({ test }: { test: TestState }) {
  if (test === null) return null;
  if ('running' in test)
    return (
      <p role="status" class="gl-hint" aria-busy="true">
        {t('options_test_running')}
      </p>
    );
  if ('permission' in test)
    return (
      <div class="gl-panel gl-error-panel" role="alert">
        <p>
          <strong>{t('options_permission_denied', test.permission)}</strong>
        </p>
      </div>
    );
  if (!test.ok)
    return (
      <div class="gl-panel gl-error-panel" role="alert" data-test-result="error" data-kind={test.error.kind}>
        <p>
          <strong>{errorTitle(test.error.kind)}</strong>
          {test.error.status !== undefined && (
            <span class="gl-hint"> {t('options_test_status', test.error.status)}</span>
          )}
        </p>
        <p class="gl-break">
          <strong>{t('options_test_error')}</strong> {errorMessage(test.error)}
        </p>
        <p class="gl-break">
          <strong>{t('popup_fix')}</strong> {errorHint(test.error)}
        </p>
      </div>
    );
  const verdict = test.verdict.safe
    ? t('options_test_safe')
    : t('options_test_unsafe', test.verdict.categories.join(', '));
  return (
    <div class="gl-panel gl-ok-panel" role="status" data-test-result="ok">
      <p>
        <strong>{t('options_test_ok')}</strong>
      </p>
      <p>{t('options_test_ok_detail', verdict, formatNumber(Math.round(test.latencyMs)))}</p>
      <p class="gl-hint">
        {t('options_test_tokens', formatNumber(test.promptTokens), formatNumber(test.completionTokens))}
      </p>
    </div>
  );
}
