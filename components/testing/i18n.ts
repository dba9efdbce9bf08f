/**
 * For unit tests: `browser.i18n.getMessage` and `getUILanguage` answering from `public/_locales/en/messages.json`
 * the way the browsers do (named placeholders whose content is `$1`…`$9`, `$$` for a dollar sign).
 */
import { vi } from 'vitest';
import { browser } from 'wxt/browser';
import messages from '../../public/_locales/en/messages.json';

interface Entry {
  message: string;
  placeholders?: Record<string, { content: string }>;
}

/** The message `name` with `substitutions`, or '' for an unknown name (as Chrome answers). */
export function formatMessage(name: string, substitutions: string | string[] = []): string {
  const entry = (messages as Record<string, Entry>)[name];
  if (!entry) return '';
  const subs = Array.isArray(substitutions) ? substitutions : [substitutions];
  const fill = (text: string) => text.replace(/\$(\d)/g, (_, n: string) => subs[Number(n) - 1] ?? '');
  return entry.message
    .replace(/\$([A-Za-z0-9_@]+)\$/g, (whole, name: string) => {
      const placeholder = entry.placeholders?.[name.toLowerCase()];
      return placeholder ? fill(placeholder.content) : whole;
    })
    .replace(/\$\$/g, '$');
}

/** Makes the fake browser's i18n answer from the messages file. */
export function installMessages(): void {
  const i18n = browser.i18n as unknown as Record<string, unknown>;
  vi.spyOn(i18n as { getMessage: typeof formatMessage }, 'getMessage').mockImplementation(formatMessage);
  vi.spyOn(i18n as { getUILanguage: () => string }, 'getUILanguage').mockImplementation(() => 'en-US');
}
