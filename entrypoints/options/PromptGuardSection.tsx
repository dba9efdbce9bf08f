import { Choice, type Managed, Toggle } from '@/components/Form';
import { t } from '@/components/i18n';
import { SiteListField } from '@/components/SiteList';
import type { ChatbotSite } from '@/lib/chatbots/sites';
import {
  type FailMode,
  isChatbotSiteEnabled,
  type PromptGuardMode,
  type Settings,
} from '@/lib/settings/schema';

/** A chatbot site the prompt guard knows: its id in `chatbotSites`, its name and its hosts. */
export type ChatbotSiteInfo = Pick<ChatbotSite, 'id' | 'name' | 'hosts'>;

export function PromptGuardSection({
  draft,
  sites,
  managed,
  update,
}: {
  draft: Settings;
  sites: readonly ChatbotSiteInfo[];
  managed: (key: keyof Settings) => Managed;
  update: (patch: Partial<Settings>) => void;
}) {
  const off = draft.promptGuard === 'off';
  const sitesLocked = managed('chatbotSites') === 'locked';
  return (
    <section id="prompt-guard" class="gl-card" aria-labelledby="prompt-guard-title">
      <h2 id="prompt-guard-title">{t('options_prompt_title')}</h2>
      <p class="gl-hint">{t('options_prompt_intro')}</p>
      <Choice<PromptGuardMode>
        id="promptGuard"
        label={t('options_prompt_mode')}
        value={draft.promptGuard}
        options={[
          { value: 'block', label: t('options_prompt_mode_block') },
          { value: 'warn', label: t('options_prompt_mode_warn') },
          { value: 'off', label: t('options_prompt_mode_off') },
        ]}
        managed={managed('promptGuard')}
        onChange={(promptGuard) => update({ promptGuard })}
      />
      <Toggle
        id="checkReplies"
        label={t('options_check_replies')}
        hint={t('options_check_replies_hint')}
        checked={draft.checkReplies}
        disabled={off}
        managed={managed('checkReplies')}
        onChange={(checkReplies) => update({ checkReplies })}
      />
      <Choice<FailMode>
        id="failMode"
        label={t('options_fail_mode')}
        hint={t('options_fail_mode_hint')}
        value={draft.failMode}
        options={[
          { value: 'open', label: t('options_fail_mode_open') },
          { value: 'closed', label: t('options_fail_mode_closed') },
        ]}
        managed={managed('failMode')}
        onChange={(failMode) => update({ failMode })}
      />
      <fieldset class="gl-fieldset" disabled={off || sitesLocked}>
        <legend>{t('options_chatbot_sites')}</legend>
        {sites.length === 0 ? (
          <p class="gl-hint">{t('options_chatbot_sites_none')}</p>
        ) : (
          <ul class="gl-checklist">
            {sites.map((site) => (
              <li key={site.id}>
                <input
                  id={`chatbot-${site.id}`}
                  type="checkbox"
                  checked={isChatbotSiteEnabled(draft, site.id)}
                  aria-describedby={`chatbot-${site.id}-hosts`}
                  onChange={(e) =>
                    update({ chatbotSites: { ...draft.chatbotSites, [site.id]: e.currentTarget.checked } })
                  }
                />
                <label for={`chatbot-${site.id}`}>{site.name}</label>{' '}
                <span id={`chatbot-${site.id}-hosts`} class="gl-hint">
                  {site.hosts.join(', ')}
                </span>
              </li>
            ))}
          </ul>
        )}
      </fieldset>
      <SiteListField
        id="extraChatbotSites"
        label={t('options_extra_chatbots')}
        hint={t('options_extra_chatbots_hint')}
        value={draft.extraChatbotSites}
        managed={managed('extraChatbotSites')}
        onChange={(extraChatbotSites) => update({ extraChatbotSites })}
      />
    </section>
  );
}
