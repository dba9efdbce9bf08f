/**
 * What the chatbot content script on one page is told to do: the background decides it from the effective
 * settings (`promptConfigFor`), the content script follows it. Nothing in it is secret: no key, no endpoint.
 *
 * Public API: `PromptConfig`, `PromptPageInfo`, `promptConfigFor(settings, page)`, `PROMPT_CHECK_TIMEOUT_MS`,
 * `INACTIVE_PROMPT_CONFIG`.
 */
import type { FailMode, PromptGuardMode, Settings } from '../settings/schema';
import { isChatbotSiteEnabled, siteState } from '../settings/schema';
import { isExtraChatbotSite, siteForUrl } from './match';

/** How long a prompt check may take before the fail mode decides (the endpoint's own timeout is longer). */
export const PROMPT_CHECK_TIMEOUT_MS = 10_000;

export interface PromptConfig {
  /** Intercept sends on this page at all. */
  active: boolean;
  /** Why not, when inactive. */
  reason?:
    | 'not-chatbot'
    | 'site-off'
    | 'guard-off'
    | 'excluded'
    | 'paused'
    | 'incognito'
    | 'not-configured'
    | 'disabled';
  /** The named site's id, or 'generic' for a site the person added. */
  siteId: string;
  mode: PromptGuardMode;
  failMode: FailMode;
  /** Offer "Send anyway" on a blocked prompt (false when a policy locks the guard in block mode). */
  sendAnyway: boolean;
  /** Check finished replies too. */
  checkReplies: boolean;
  /** Longest a check may take before the fail mode decides. */
  timeoutMs: number;
}

export const INACTIVE_PROMPT_CONFIG: Readonly<PromptConfig> = Object.freeze({
  active: false,
  reason: 'disabled',
  siteId: 'generic',
  mode: 'off',
  failMode: 'open',
  sendAnyway: true,
  checkReplies: false,
  timeoutMs: PROMPT_CHECK_TIMEOUT_MS,
});

export interface PromptPageInfo {
  url: string;
  incognito: boolean;
  /** Why the endpoint cannot be used yet (`missingEndpointSetting`), or null. */
  notConfigured: string | null;
  /** The organisation's policy locks `promptGuard`. */
  promptGuardLocked: boolean;
}

type GuardSettings = Pick<
  Settings,
  | 'promptGuard'
  | 'failMode'
  | 'checkReplies'
  | 'chatbotSites'
  | 'extraChatbotSites'
  | 'excludedSites'
  | 'pausedSites'
  | 'allowIncognito'
>;

export function promptConfigFor(settings: GuardSettings, page: PromptPageInfo): PromptConfig {
  const site = siteForUrl(page.url);
  const base: PromptConfig = {
    active: false,
    siteId: site?.id ?? 'generic',
    mode: settings.promptGuard,
    failMode: settings.failMode,
    sendAnyway: !(page.promptGuardLocked && settings.promptGuard === 'block'),
    checkReplies: false,
    timeoutMs: PROMPT_CHECK_TIMEOUT_MS,
  };
  const inactive = (reason: NonNullable<PromptConfig['reason']>): PromptConfig => ({ ...base, reason });
  if (site) {
    if (!isChatbotSiteEnabled(settings, site.id)) return inactive('site-off');
  } else if (!isExtraChatbotSite(settings.extraChatbotSites, page.url)) {
    return inactive('not-chatbot');
  }
  const state = siteState(settings, page.url);
  if (state !== 'active') return inactive(state);
  if (page.incognito && !settings.allowIncognito) return inactive('incognito');
  if (page.notConfigured) return inactive('not-configured');
  const checkReplies = settings.checkReplies;
  if (settings.promptGuard === 'off' && !checkReplies) return inactive('guard-off');
  return { ...base, active: true, checkReplies };
}
