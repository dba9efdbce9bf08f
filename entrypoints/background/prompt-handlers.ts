/**
 * Prompt guard messages: the chatbot content script says hello, asks for prompt checks (which jump the engine's
 * queue) and reply checks; the background pushes a new config to open chatbot tabs when the settings change.
 *
 * Sites the person adds (`extraChatbotSites`) get the chatbot content script through a registration made here,
 * for the origins the person granted, so every other page stays free of it (`syncExtraSites`).
 */
import { INACTIVE_PROMPT_CONFIG, type PromptConfig, promptConfigFor } from '@/lib/chatbots/config';
import {
  CHATBOT_MATCH_PATTERNS,
  extraSiteMatchPatterns,
  isExtraChatbotSite,
  siteForUrl,
} from '@/lib/chatbots/match';
import { asClassifierError, EngineError } from '@/lib/engine/types';
import { GuardError } from '@/lib/guard/errors';
import { resolveAction } from '@/lib/settings/actions';
import { missingEndpointSetting } from '@/lib/settings/endpoint';
import { fill, type MessageText, messageText } from '@/lib/text';
import { lookupMessage, textForPage } from '@/utils/i18n';
import {
  isOwnSender,
  onMessage,
  type PromptCheckResult,
  type ReplyCheckResult,
  sendMessage,
} from '@/utils/messages';
import { PROMPT_ERROR_TEMPLATES } from '@/utils/protocol/prompt';
import { type EffectiveState, watchEffectiveSettings } from '@/utils/settings';
import type { BackgroundContext } from './context';
import type { EngineHost } from './host';

/** The registration that brings the chatbot content script to the person's extra sites. */
export const EXTRA_SITES_SCRIPT_ID = 'guardlens-chatbot-extra';
const CHATBOT_SCRIPT_FILE = 'content-scripts/chatbot.js';
/** Longest a reply check may wait in the queue (nobody waits for it, but the message channel stays open). */
const REPLY_CHECK_TIMEOUT_MS = 60_000;

interface Sender {
  id?: string;
  tab?: { id?: number; incognito?: boolean };
  frameId?: number;
}

function configFor(state: EffectiveState, url: string, incognito: boolean): PromptConfig {
  return promptConfigFor(state.settings, {
    url,
    incognito,
    notConfigured: missingEndpointSetting(state.settings, state.apiKey),
    promptGuardLocked: state.locked.has('promptGuard'),
  });
}

type PromptErrorKey = keyof typeof PROMPT_ERROR_TEMPLATES;

/** One of the background's own reasons: its English and its message key and values. */
function ownError(
  kind: string,
  key: PromptErrorKey,
  ...subs: (string | number)[]
): { kind: string; message: string; text: MessageText } {
  return { kind, message: fill(PROMPT_ERROR_TEMPLATES[key], subs), text: messageText(key, subs) };
}

/** An error as a person reads it in the prompt panel: English, and the message key and values when known. */
function describeError(err: unknown): {
  kind: string;
  message: string;
  text?: MessageText;
  retryAt?: number;
} {
  if (err instanceof EngineError) {
    return {
      kind: err.kind,
      message: err.message,
      ...(err.messageText ? { text: textForPage(err.messageText) } : {}),
      ...(err.retryAt ? { retryAt: err.retryAt } : {}),
    };
  }
  const e = asClassifierError(err);
  const text = err instanceof GuardError ? err.messageText : undefined;
  return {
    kind: e.kind,
    message: e.message,
    ...(text ? { text } : {}),
    ...(e.retryAt ? { retryAt: e.retryAt } : {}),
  };
}

/** Runs `fn` with a signal that aborts after `ms`; says whether it was the timer that aborted it. */
async function withTimeout<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, ms);
  try {
    return { value: await fn(controller.signal), timedOut: false as const };
  } catch (error) {
    if (timedOut) return { timedOut: true as const };
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

export function registerPromptHandlers({ host, ownId }: BackgroundContext): void {
  const senderOk = (sender: Sender) => isOwnSender(sender, ownId) && typeof sender.tab?.id === 'number';
  /**
   * The settings as this module's watcher last read them: configs come from here (falling back to the host's),
   * so a page that asks after being told of a change gets the change.
   */
  let latest: EffectiveState | null = null;
  const state = (h: EngineHost) => latest ?? h.state;

  onMessage('prompt:hello', async ({ data, sender }): Promise<PromptConfig> => {
    if (!senderOk(sender) || typeof data?.url !== 'string') return { ...INACTIVE_PROMPT_CONFIG };
    const h = await host();
    return configFor(state(h), data.url, !!sender.tab?.incognito);
  });

  onMessage('prompt:check', async ({ data, sender }): Promise<PromptCheckResult> => {
    if (!senderOk(sender) || typeof data?.url !== 'string') {
      return { status: 'skipped', config: { ...INACTIVE_PROMPT_CONFIG } };
    }
    const h = await host();
    const config = configFor(state(h), data.url, !!sender.tab?.incognito);
    if (!config.active || config.mode === 'off') return { status: 'skipped', config };
    if (typeof data.text !== 'string' || !data.text.trim() || typeof data.ref !== 'string' || !data.ref) {
      return { status: 'error', ...ownError('invalid', 'prompt_error_no_prompt'), config };
    }
    try {
      const run = await withTimeout(config.timeoutMs, (signal) =>
        h.engine.checkPrompt(
          {
            tabId: sender.tab!.id!,
            frameId: sender.frameId ?? 0,
            url: data.url,
            ref: data.ref,
            text: data.text,
          },
          signal,
        ),
      );
      if (run.timedOut) {
        const seconds = Math.round(config.timeoutMs / 1000);
        return { status: 'error', ...ownError('timeout', 'prompt_error_timeout', seconds), config };
      }
      const verdict = run.value;
      if (verdict.safe) return { status: 'safe', config };
      const codes = [...verdict.categories, ...verdict.unknownCategories];
      const resolved = resolveAction(state(h).settings, codes, lookupMessage);
      // Every category the model named is one the person set to "ignore".
      if (codes.length > 0 && resolved.categories.length === 0) return { status: 'safe', config };
      return { status: 'unsafe', categories: resolved.categories, names: resolved.names, config };
    } catch (error) {
      return { status: 'error', ...describeError(error), config };
    }
  });

  onMessage('prompt:reply', async ({ data, sender }): Promise<ReplyCheckResult> => {
    if (!senderOk(sender) || typeof data?.url !== 'string') return { status: 'skipped' };
    const h = await host();
    const config = configFor(state(h), data.url, !!sender.tab?.incognito);
    if (!config.active || !config.checkReplies) return { status: 'skipped' };
    if (typeof data.text !== 'string' || !data.text.trim() || typeof data.ref !== 'string' || !data.ref) {
      return { status: 'error', ...ownError('invalid', 'prompt_error_no_reply') };
    }
    const prompt = typeof data.prompt === 'string' ? data.prompt : '';
    try {
      const run = await withTimeout(REPLY_CHECK_TIMEOUT_MS, (signal) =>
        h.engine.check(
          {
            kind: 'reply',
            priority: data.visible ? 'viewport' : 'page',
            tabId: sender.tab!.id!,
            frameId: sender.frameId ?? 0,
            url: data.url,
            ref: data.ref,
            text: data.text,
            context: prompt,
          },
          signal,
        ),
      );
      if (run.timedOut) return { status: 'error', ...ownError('timeout', 'prompt_error_reply_timeout') };
      const verdict = run.value;
      if (verdict.safe) return { status: 'safe' };
      const resolved = resolveAction(
        state(h).settings,
        [...verdict.categories, ...verdict.unknownCategories],
        lookupMessage,
      );
      if (resolved.action === 'ignore') return { status: 'safe' };
      return { status: 'unsafe', verdict: { ref: data.ref, ...resolved } };
    } catch (error) {
      return { status: 'error', ...describeError(error) };
    }
  });

  const resync = () => {
    if (latest) void syncExtraSites(latest.settings.extraChatbotSites);
  };
  watchEffectiveSettings((next) => {
    latest = next;
    void syncExtraSites(next.settings.extraChatbotSites);
    void tellChatbotTabs(next);
  });
  browser.permissions.onAdded.addListener(resync);
  browser.permissions.onRemoved.addListener(resync);
  void host()
    .then((h) => void syncExtraSites(state(h).settings.extraChatbotSites))
    .catch(() => undefined);
}

/** Tells every open tab of a chatbot site (named or added) that the settings changed; tabs without the script ignore it. */
async function tellChatbotTabs(state: EffectiveState): Promise<void> {
  let tabs: Array<{ id?: number; url?: string }>;
  try {
    tabs = await browser.tabs.query({});
  } catch {
    return;
  }
  await Promise.all(
    tabs.map(async (tab) => {
      if (typeof tab.id !== 'number' || !tab.url) return;
      if (!siteForUrl(tab.url) && !isExtraChatbotSite(state.settings.extraChatbotSites, tab.url)) return;
      try {
        await sendMessage('prompt:config', undefined, { tabId: tab.id, frameId: 0 });
      } catch {
        // No chatbot script in that tab (still loading, or a page it does not run on).
      }
    }),
  );
}

let syncing: Promise<void> = Promise.resolve();

/**
 * Registers the chatbot content script (`scripting`, in both browsers) for the person's extra sites whose origins
 * they granted (an optional host permission, per scheme), or removes the registration when there are none. Named
 * sites are excluded (the manifest already covers them). Runs one at a time, latest settings last.
 */
export function syncExtraSites(extraChatbotSites: readonly string[]): Promise<void> {
  syncing = syncing
    .then(() => doSync(extraChatbotSites))
    .catch((error) => {
      console.error('Guardlens: could not register the prompt guard for added chatbot sites:', String(error));
    });
  return syncing;
}

async function doSync(extraChatbotSites: readonly string[]): Promise<void> {
  const matches: string[] = [];
  for (const pattern of extraSiteMatchPatterns(extraChatbotSites)) {
    if (await browser.permissions.contains({ origins: [pattern] }).catch(() => false)) matches.push(pattern);
  }
  const script = {
    matches,
    excludeMatches: [...CHATBOT_MATCH_PATTERNS],
    js: [CHATBOT_SCRIPT_FILE],
    runAt: 'document_start' as const,
  };
  const scripting = browser.scripting;
  const existing = await scripting.getRegisteredContentScripts({ ids: [EXTRA_SITES_SCRIPT_ID] });
  const current = existing[0];
  if (matches.length === 0) {
    if (current) await scripting.unregisterContentScripts({ ids: [EXTRA_SITES_SCRIPT_ID] });
    return;
  }
  const same = (a: readonly string[] = [], b: readonly string[] = []) =>
    JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
  if (current && same(current.matches, matches) && same(current.excludeMatches, script.excludeMatches))
    return;
  const registration = { id: EXTRA_SITES_SCRIPT_ID, ...script, persistAcrossSessions: true };
  if (current) await scripting.updateContentScripts([registration]);
  else await scripting.registerContentScripts([registration]);
}
