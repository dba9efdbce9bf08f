/**
 * The chatbot content script: the prompt guard and reply checks on chatbot sites.
 *
 * It runs at `document_start` on every named chatbot site's hosts (`CHATBOT_MATCH_PATTERNS`) and, through a
 * registration the background makes (`prompt-handlers.ts`), on the sites the person added, so no other page pays
 * for it. Its capture listeners are registered before any of the page's scripts run; what it then does is
 * decided by the background's answer to `prompt:hello` (asked again whenever the background says the settings
 * changed): nothing at all on a site the person turned off.
 */
import type { PromptConfig } from '@/lib/chatbots/config';
import { CHATBOT_MATCH_PATTERNS, siteForUrl } from '@/lib/chatbots/match';
import { GENERIC_SITE } from '@/lib/chatbots/sites';
import { extensionLifetime } from '@/utils/lifetime';
import { messagesLocale } from '@/utils/locale';
import { onMessage, sendMessage } from '@/utils/messages';
import { extensionMessage, extensionUiLanguage } from '@/utils/page-api';
import { PromptGuard } from './guard';
import { createTranslate } from './i18n';
import { ReplyWatcher } from './replies';

export default defineContentScript({
  matches: [...CHATBOT_MATCH_PATTERNS],
  runAt: 'document_start',
  main() {
    const site = siteForUrl(location.href) ?? GENERIC_SITE;
    // Ends only with the extension itself (utils/lifetime.ts), which no page can fake.
    const life = extensionLifetime();
    const t = createTranslate(extensionMessage, messagesLocale(extensionUiLanguage()));
    let replies: ReplyWatcher | null = null;

    const guard = new PromptGuard({
      win: window,
      site,
      t,
      signal: life.signal,
      transport: {
        hello: () => sendMessage('prompt:hello', { url: location.href }),
        check: (text, ref) => sendMessage('prompt:check', { url: location.href, ref, text }),
      },
      onConfig: (config: PromptConfig) => {
        const want = config.active && config.checkReplies;
        if (want && !replies) {
          replies = new ReplyWatcher({
            doc: document,
            site,
            lastPrompt: () => guard.lastPrompt,
            transport: { reply: (data) => sendMessage('prompt:reply', { url: location.href, ...data }) },
          });
        }
        if (!replies) return;
        if (want) {
          // The page may still be parsing: start once there is a document element to watch.
          if (document.documentElement) replies.start();
        } else replies.stop();
      },
    });

    const removeConfigListener = onMessage('prompt:config', () => void guard.refreshConfig());
    life.onEnd(() => {
      removeConfigListener();
      replies?.stop();
    });
  },
});
