/**
 * For unit tests: the entries of `public/_locales/en/messages.json` read back as `lib/`'s English templates (`$1`,
 * `$2` … where the named placeholders are), so a table of templates and the messages file can be compared, and a
 * structured text filled from the file's own words.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import messages from '../../public/_locales/en/messages.json';

interface Entry {
  message: string;
  placeholders?: Record<string, { content: string }>;
}

/** The messages file, by key. */
export const MESSAGES = messages as unknown as Record<string, Entry>;

/** An entry's message with its named placeholders written back as their content (`$1` …). */
function templateOf(entry: Entry): string {
  return entry.message.replace(/\$([A-Za-z0-9_@]+)\$/g, (whole, name: string) => {
    return entry.placeholders?.[name.toLowerCase()]?.content ?? whole;
  });
}

/** The message `key` written back as a template, or undefined when the file has no such key. */
export function messageTemplate(key: string): string | undefined {
  const entry = MESSAGES[key];
  return entry ? templateOf(entry) : undefined;
}

/**
 * `getMessage` as a browser answers it from one locale's messages file (`public/_locales/<locale>`): the named
 * placeholders, then `$1` … filled from the substitutions in one pass, `$$` as `$`; '' for a key it lacks.
 */
export function localeGetMessage(locale: string): (key: string, substitutions?: string | string[]) => string {
  const file = JSON.parse(
    readFileSync(path.resolve(__dirname, '../../public/_locales', locale, 'messages.json'), 'utf8'),
  ) as Record<string, Entry>;
  return (key, substitutions) => {
    const entry = file[key];
    if (!entry) return '';
    const subs = typeof substitutions === 'string' ? [substitutions] : (substitutions ?? []);
    return templateOf(entry).replace(/\$(\$|[1-9])/g, (_, c: string) =>
      c === '$' ? '$' : (subs[Number(c) - 1] ?? ''),
    );
  };
}

/** The file's sentence `key` with `subs` in its placeholders (English, as a browser would show it). */
export function fromMessages(key: string, subs: readonly string[] = []): string {
  return (messageTemplate(key) ?? '').replace(/\$(\d)/g, (_, n: string) => subs[Number(n) - 1] ?? '');
}

/** Each template of `templates` is in the file with the same English, and with one placeholder per value. */
export function expectInMessages(templates: Readonly<Record<string, string>>): void {
  for (const [key, template] of Object.entries(templates)) {
    const entry = MESSAGES[key];
    expect(entry, key).toBeDefined();
    expect(messageTemplate(key), key).toBe(template);
    const used = new Set([...template.matchAll(/\$(\d)/g)].map((m) => m[1]));
    expect(Object.keys(entry!.placeholders ?? {}).length, key).toBe(used.size);
  }
}
