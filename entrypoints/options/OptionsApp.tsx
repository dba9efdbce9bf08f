import { useEffect, useState } from 'preact/hooks';
import { GUARD_MODELS, listGuardModels } from '@/lib/guard/registry';
import type { GuardModelId } from '@/lib/guard/types';
import { getPreset, isPresetId, listPresets, validateBaseUrl } from '@/lib/providers/presets';
import { POLICY_LOCK_REASON } from '@/lib/settings/policy';
import { type Settings, SettingsValidationError } from '@/lib/settings/schema';
import { type EndpointTestResult, sendMessage } from '@/utils/messages';
import { type EffectiveState, loadEffectiveSettings, saveApiKey, saveSettings } from '@/utils/settings';

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** Asks for permission to reach a custom endpoint's origin, at run time, only when it is not loopback. */
async function ensureOriginPermission(baseUrl: string): Promise<string | null> {
  const checked = validateBaseUrl(baseUrl);
  if (!checked.ok) return checked.error;
  const host = new URL(checked.origin).hostname;
  if (LOOPBACK.test(host)) return null;
  const origins = [`${checked.origin}/*`];
  if (await browser.permissions.contains({ origins })) return null;
  const granted = await browser.permissions.request({ origins });
  return granted ? null : `Guardlens needs permission to reach ${checked.origin} to use this endpoint.`;
}

export function OptionsApp() {
  const [state, setState] = useState<EffectiveState | null>(null);
  const [draft, setDraft] = useState<Settings | null>(null);
  const [apiKey, setApiKey] = useState('');
  const [showKey, setShowKey] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [test, setTest] = useState<EndpointTestResult | 'running' | null>(null);

  useEffect(() => {
    loadEffectiveSettings().then((loaded) => {
      setState(loaded);
      setDraft(loaded.settings);
      setApiKey(loaded.apiKey);
    });
  }, []);

  if (!state || !draft) return <main class="gl-options">Loading…</main>;

  const locked = (key: keyof Settings | 'apiKey') => state.locked.has(key);
  const lockNote = (key: keyof Settings | 'apiKey') =>
    locked(key) ? <p class="gl-locked">🔒 {POLICY_LOCK_REASON}</p> : null;
  const preset = getPreset(draft.provider);
  const models =
    draft.provider === 'custom' ? listGuardModels() : listGuardModels().filter((m) => preset.models[m.id]);
  const keyProps = {
    value: apiKey,
    autocomplete: 'off',
    spellcheck: false,
    disabled: locked('apiKey'),
    onInput: (e: Event) => setApiKey((e.currentTarget as HTMLInputElement).value.trim()),
  };
  const update = (patch: Partial<Settings>) => setDraft({ ...draft, ...patch });

  const choosePreset = (id: string) => {
    if (!isPresetId(id)) return;
    const next = getPreset(id);
    const guardModel = (next.models[draft.guardModel] ? draft.guardModel : Object.keys(next.models)[0]) as
      | GuardModelId
      | undefined;
    update({
      provider: id,
      baseUrl: next.baseUrl || draft.baseUrl,
      guardModel: guardModel ?? draft.guardModel,
      model: (guardModel && next.models[guardModel]) || draft.model,
      requestMode: next.raw ? draft.requestMode : 'chat',
      sendBos: next.sendBos,
    });
  };

  const chooseModel = (id: string) => {
    const model = GUARD_MODELS[id as GuardModelId];
    if (!model) return;
    update({ guardModel: model.id, model: preset.models[model.id] ?? draft.model });
  };

  const save = async (event: Event) => {
    event.preventDefault();
    setMessage(null);
    const permissionError = await ensureOriginPermission(draft.baseUrl);
    if (permissionError) {
      setMessage({ ok: false, text: permissionError });
      return;
    }
    let result: Awaited<ReturnType<typeof saveSettings>>;
    let keyResult: { refused: string[] };
    try {
      result = await saveSettings(draft);
      keyResult = locked('apiKey') ? { refused: [] } : await saveApiKey(apiKey);
    } catch (e) {
      const problems = e instanceof SettingsValidationError ? e.problems : [String(e)];
      setMessage({ ok: false, text: `Not saved: ${problems.join(' ')}` });
      return;
    }
    const refused = [...result.refused, ...keyResult.refused];
    const reloaded = await loadEffectiveSettings();
    setState(reloaded);
    setDraft(reloaded.settings);
    setMessage(
      refused.length
        ? { ok: false, text: `Saved, except what your organisation's policy sets: ${refused.join(', ')}.` }
        : { ok: true, text: 'Saved.' },
    );
  };

  const runTest = async () => {
    setTest('running');
    setTest(await sendMessage('endpoint:test', { settings: draft, apiKey }));
  };

  return (
    <main class="gl-options" style={{ maxWidth: '40rem', margin: '0 auto', padding: '1.5rem' }}>
      <h1>Guardlens settings</h1>
      {state.problems.length > 0 && (
        <div class="gl-panel gl-error" role="alert">
          {state.problems.map((p) => (
            <p key={p}>{p}</p>
          ))}
        </div>
      )}
      <form onSubmit={save}>
        <h2>Endpoint</h2>
        <label for="provider">Provider</label>
        <select
          id="provider"
          value={draft.provider}
          disabled={locked('provider')}
          onChange={(e) => choosePreset(e.currentTarget.value)}
        >
          {listPresets().map((p) => (
            <option key={p.id} value={p.id}>
              {p.label}
            </option>
          ))}
        </select>
        {lockNote('provider')}
        {preset.note && <p class="gl-hint">{preset.note}</p>}

        <label for="baseUrl">Base URL</label>
        <input
          id="baseUrl"
          type="url"
          value={draft.baseUrl}
          placeholder="https://example.org/v1"
          disabled={locked('baseUrl')}
          onInput={(e) => update({ baseUrl: e.currentTarget.value.trim() })}
        />
        {lockNote('baseUrl')}

        <label for="apiKey">API key</label>
        <div class="gl-row">
          {showKey ? (
            <input id="apiKey" type="text" {...keyProps} />
          ) : (
            <input id="apiKey" type="password" {...keyProps} />
          )}
          <button type="button" aria-pressed={showKey} onClick={() => setShowKey(!showKey)}>
            {showKey ? 'Hide' : 'Show'}
          </button>
        </div>
        <p class="gl-hint">Kept in this browser only; sent only to the endpoint above.</p>
        {lockNote('apiKey')}

        <label for="guardModel">Llama Guard generation</label>
        <select
          id="guardModel"
          value={draft.guardModel}
          disabled={locked('guardModel')}
          onChange={(e) => chooseModel(e.currentTarget.value)}
        >
          {models.map((m) => (
            <option key={m.id} value={m.id}>
              {m.label}
            </option>
          ))}
        </select>
        {lockNote('guardModel')}

        <label for="model">Model id at the provider</label>
        <input
          id="model"
          type="text"
          value={draft.model}
          disabled={locked('model')}
          onInput={(e) => update({ model: e.currentTarget.value.trim() })}
        />
        {lockNote('model')}

        <label for="requestMode">Request mode</label>
        <select
          id="requestMode"
          value={draft.requestMode}
          disabled={locked('requestMode')}
          onChange={(e) => update({ requestMode: e.currentTarget.value === 'raw' ? 'raw' : 'chat' })}
        >
          <option value="chat">Chat (the provider applies the model's template)</option>
          <option value="raw" disabled={!preset.raw}>
            Raw (Guardlens renders the official prompt){preset.raw ? '' : ' — not offered by this provider'}
          </option>
        </select>
        {lockNote('requestMode')}

        <div class="gl-row" style={{ marginTop: '1rem' }}>
          <button class="primary" type="submit">
            Save
          </button>
          <button type="button" onClick={runTest} disabled={test === 'running'}>
            Test connection
          </button>
        </div>
        {message && (
          <p role="status" class={message.ok ? 'gl-ok' : 'gl-error'}>
            {message.text}
          </p>
        )}
        <TestResult test={test} />
      </form>
    </main>
  );
}

function TestResult({ test }: { test: EndpointTestResult | 'running' | null }) {
  if (test === null) return null;
  if (test === 'running') return <p role="status">Testing…</p>;
  if (!test.ok)
    return (
      <div class="gl-panel gl-error" role="alert">
        <p>
          <strong>{test.error.message}</strong>
        </p>
        <p>{test.error.hint}</p>
      </div>
    );
  return (
    <p role="status" class="gl-ok">
      Connected: the model answered “
      {test.verdict.safe ? 'safe' : `unsafe ${test.verdict.categories.join(',')}`}” in{' '}
      {Math.round(test.latencyMs)} ms.
    </p>
  );
}
