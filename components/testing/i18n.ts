/**
 * For unit tests: `browser.i18n.getMessage` and `getUILanguage` answering from `public/_locales/en/messages.json`
 * (or another locale's file) the way the browsers do (named placeholders whose content is `$1`…`$9`, `$$` for a
 * dollar sign).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { vi } from 'vitest';
import { browser } from 'wxt/browser';
import messages from '../../public/_locales/en/messages.json';

interface Entry {
  message: string;
  placeholders?: Record<string, { content: string }>;
}

type Messages = Record<string, Entry>;

const LOCALES_DIR = path.resolve(__dirname, '../../public/_locales');

/** Whether `public/_locales/<locale>/messages.json` is there (a translation may not be yet). */
export function hasLocale(locale: string): boolean {
  return existsSync(path.join(LOCALES_DIR, locale, 'messages.json'));
}

/** The messages of `public/_locales/<locale>/` (`de`, `pt_BR`…), by key. */
export function localeMessages(locale: string): Messages {
  if (locale === 'en') return messages as Messages;
  return JSON.parse(readFileSync(path.join(LOCALES_DIR, locale, 'messages.json'), 'utf8')) as Messages;
}

/** The message `name` with `substitutions`, or '' for an unknown name (as Chrome answers). */
export function formatMessage(name: string, substitutions: string | string[] = []): string {
  return formatFrom(messages as Messages, name, substitutions);
}

function formatFrom(file: Messages, name: string, substitutions: string | string[] = []): string {
  const entry = file[name];
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

/**
 * Makes the fake browser's i18n answer from the messages file: English for an `en-US` browser by default, or
 * `locale`'s file with `uiLanguage` as the browser's UI language (`installMessages('de', 'de-DE')`); a key the
 * locale lacks falls back to English, as the browsers do.
 */
export function installMessages(
  locale = 'en',
  uiLanguage = locale === 'en' ? 'en-US' : locale.replace('_', '-'),
): void {
  const file = localeMessages(locale);
  const i18n = browser.i18n as unknown as Record<string, unknown>;
  vi.spyOn(i18n as { getMessage: typeof formatMessage }, 'getMessage').mockImplementation((name, subs) =>
    name in file ? formatFrom(file, name, subs) : formatMessage(name, subs),
  );
  vi.spyOn(i18n as { getUILanguage: () => string }, 'getUILanguage').mockImplementation(() => uiLanguage);
}
