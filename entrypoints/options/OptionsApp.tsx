import { useEffect, useRef, useState } from 'preact/hooks';
import type { Managed } from '@/components/Form';
import { type MessageKey, problemMessage, t } from '@/components/i18n';
import { ProblemItems } from '@/components/ProblemItems';
import { extraSiteMatchPatterns } from '@/lib/chatbots/match';
import { CHATBOT_SITES } from '@/lib/chatbots/sites';
import { missingEndpointSetting } from '@/lib/settings/endpoint';
import type { ManagedKey } from '@/lib/settings/policy';
import { type Settings, SettingsValidationError } from '@/lib/settings/schema';
import { sendMessage } from '@/utils/messages';
import {
  type EffectiveState,
  loadEffectiveSettings,
  saveApiKey,
  saveSettings,
  watchEffectiveSettings,
} from '@/utils/settings';
import { BackupSection } from './BackupSection';
import { EndpointSection, type TestState } from './EndpointSection';
import { HistorySection } from './HistorySection';
import { PolicySection } from './PolicySection';
import { type ChatbotSiteInfo, PromptGuardSection } from './PromptGuardSection';
import { originsForBaseUrl, requestOrigins } from './permissions';
import { ScanningSection } from './ScanningSection';

const SECTIONS: { id: string; title: MessageKey }[] = [
  { id: 'endpoint', title: 'options_endpoint_title' },
  { id: 'policy', title: 'options_policy_title' },
  { id: 'prompt-guard', title: 'options_prompt_title' },
  { id: 'scanning', title: 'options_scanning_title' },
  { id: 'privacy', title: 'options_privacy_title' },
  { id: 'budget', title: 'options_budget_title' },
  { id: 'history', title: 'options_history_title' },
  { id: 'backup', title: 'options_backup_title' },
];

type Message = { ok: boolean; text: string; problems?: string[] };

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The draft after the saved settings changed from `before` to `after` elsewhere: fields the person did not edit
 * (still equal to `before`) take the new value; edited ones keep the edit.
 */
export function rebaseDraft(before: Settings, after: Settings, draft: Settings): Settings {
  const out = { ...draft };
  for (const key of Object.keys(after) as (keyof Settings)[]) {
    if (same(draft[key], before[key])) (out as Record<string, unknown>)[key] = after[key];
  }
  return out;
}

export function OptionsApp({ chatbotSites = CHATBOT_SITES }: { chatbotSites?: readonly ChatbotSiteInfo[] }) {
  const [state, setState] = useState<EffectiveState | null>(null);
  const [draft, setDraft] = useState<Settings | null>(null);
  const [apiKey, setApiKey] = useState('');
  const [message, setMessage] = useState<Message | null>(null);
  const [saving, setSaving] = useState(false);
  const [test, setTest] = useState<TestState>(null);
  const [incognitoAllowed, setIncognitoAllowed] = useState<boolean | undefined>(undefined);
  const [loadError, setLoadError] = useState<string | null>(null);

  const dirty = !!state && !!draft && (!same(state.settings, draft) || state.apiKey !== apiKey);

  const adopt = (loaded: EffectiveState) => {
    setState(loaded);
    setDraft(loaded.settings);
    setApiKey(loaded.apiKey);
  };

  useEffect(() => {
    loadEffectiveSettings().then(adopt, (e) => setLoadError(e instanceof Error ? e.message : String(e)));
    browser.extension
      ?.isAllowedIncognitoAccess?.()
      .then(setIncognitoAllowed)
      .catch(() => undefined);
  }, []);

  // Settings changed elsewhere (the popup pausing a site, a policy, another options tab): every field the
  // person has not edited here follows; their edits stay.
  const stateRef = useRef(state);
  stateRef.current = state;
  const loaded = state !== null;
  useEffect(() => {
    if (!loaded) return;
    return watchEffectiveSettings((next) => {
      const before = stateRef.current;
      setDraft((current) =>
        current && before ? rebaseDraft(before.settings, next.settings, current) : next.settings,
      );
      setApiKey((current) => (before && current !== before.apiKey ? current : next.apiKey));
      setState(next);
    });
  }, [loaded]);

  if (loadError)
    return (
      <main class="gl-options">
        <p class="gl-panel gl-error-panel" role="alert">
          {t('options_load_failed', loadError)}
        </p>
      </main>
    );
  if (!state || !draft)
    return (
      <main class="gl-options" aria-busy="true">
        {t('common_loading')}
      </main>
    );

  const managed = (key: keyof Settings | 'apiKey'): Managed =>
    state.locked.has(key as ManagedKey)
      ? 'locked'
      : state.managedKeys.has(key as ManagedKey)
        ? 'set'
        : undefined;
  const update = (patch: Partial<Settings>) => {
    setDraft({ ...draft, ...patch });
    setMessage(null);
  };
  const missing = missingEndpointSetting(state.settings, state.apiKey);

  const save = async (event: Event) => {
    event.preventDefault();
    // The permission request must come first, while the click is being handled.
    const needed = originsForBaseUrl(draft.baseUrl);
    const chatbots = extraSiteMatchPatterns(draft.extraChatbotSites);
    if (!(await requestOrigins([...(needed.ok ? needed.origins : []), ...chatbots]))) {
      setMessage({
        ok: false,
        text:
          needed.ok && needed.origins.length
            ? t('options_permission_denied', needed.origin)
            : t('options_permission_denied_chatbots'),
      });
      return;
    }
    setSaving(true);
    setMessage(null);
    try {
      const result = await saveSettings(draft);
      const keyResult = managed('apiKey') === 'locked' ? { refused: [] } : await saveApiKey(apiKey);
      const refused = [...result.refused, ...keyResult.refused];
      adopt(await loadEffectiveSettings());
      setMessage(
        refused.length
          ? { ok: false, text: t('options_saved_except', refused.join(', ')) }
          : { ok: true, text: t('options_saved') },
      );
    } catch (e) {
      const problems =
        e instanceof SettingsValidationError ? e.problems : [e instanceof Error ? e.message : String(e)];
      setMessage({ ok: false, text: t('options_not_saved'), problems });
    } finally {
      setSaving(false);
    }
  };

  const discard = () => {
    adopt(state);
    setMessage(null);
  };

  const runTest = async () => {
    const needed = originsForBaseUrl(draft.baseUrl || '');
    if (needed.ok && !(await requestOrigins(needed.origins))) {
      setTest({ ok: false, permission: needed.origin });
      return;
    }
    setTest({ running: true });
    try {
      setTest(await sendMessage('endpoint:test', { settings: draft, apiKey }));
    } catch (e) {
      setTest({
        ok: false,
        error: {
          name: 'Error',
          kind: 'config',
          message: e instanceof Error ? e.message : String(e),
          hint: t('options_test_no_background'),
          retryable: false,
        },
      });
    }
  };

  return (
    <div class="gl-options-layout">
      <nav class="gl-nav" aria-label={t('options_nav_label')}>
        <p class="gl-nav-title">{t('extName')}</p>
        <ul>
          {SECTIONS.map((s) => (
            <li key={s.id}>
              <a href={`#${s.id}`}>{t(s.title)}</a>
            </li>
          ))}
        </ul>
      </nav>
      <main class="gl-options">
        <h1>{t('options_title')}</h1>
        {missing && (
          <div class="gl-panel gl-setup" role="note" id="setup-note">
            <p>
              <strong>{t('options_setup_title')}</strong>
            </p>
            <p>{t('options_setup_steps')}</p>
            <p class="gl-hint">{t('popup_setup_missing', problemMessage(missing))}</p>
          </div>
        )}
        {state.problems.length > 0 && (
          <div class="gl-panel gl-error-panel" role="alert">
            <p>
              <strong>{t('options_stored_problems')}</strong>
            </p>
            <ul class="gl-problems">
              <ProblemItems problems={state.problems} />
            </ul>
          </div>
        )}
        {state.locked.size > 0 && <p class="gl-locked">{t('options_policy_banner')}</p>}
        <form onSubmit={save} noValidate>
          <EndpointSection
            draft={draft}
            apiKey={apiKey}
            managed={managed}
            test={test}
            update={(patch) => {
              update(patch);
              setTest(null);
            }}
            setApiKey={(key) => {
              setApiKey(key);
              setTest(null);
              setMessage(null);
            }}
            onTest={runTest}
          />
          <PolicySection draft={draft} managed={managed} update={update} />
          <PromptGuardSection draft={draft} sites={chatbotSites} managed={managed} update={update} />
          <ScanningSection
            draft={draft}
            managed={managed}
            incognitoAllowed={incognitoAllowed}
            update={update}
          />
          <HistorySection draft={draft} managed={managed} update={update} />
          <BackupSection
            saved={state.settings}
            apiKey={state.apiKey}
            dirty={dirty}
            onImported={async () => adopt(await loadEffectiveSettings())}
          />
          <div class="gl-savebar" data-dirty={dirty}>
            <div class="gl-savebar-inner">
              <p class="gl-savebar-state" role="status">
                {message ? (
                  <span class={message.ok ? 'gl-ok' : 'gl-error'}>{message.text}</span>
                ) : dirty ? (
                  t('options_unsaved')
                ) : (
                  t('options_all_saved')
                )}
              </p>
              <button type="button" onClick={discard} disabled={!dirty || saving}>
                {t('options_discard')}
              </button>
              <button class="primary" type="submit" disabled={saving}>
                {t('options_save')}
              </button>
            </div>
            {message?.problems && message.problems.length > 0 && (
              <ul class="gl-problems gl-error" role="alert">
                <ProblemItems problems={message.problems} />
              </ul>
            )}
          </div>
        </form>
      </main>
    </div>
  );
}
