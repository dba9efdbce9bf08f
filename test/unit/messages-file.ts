/**
 * For unit tests: the entries of `public/_locales/en/messages.json` read back as `lib/`'s English templates (`$1`,
 * `$2` … where the named placeholders are), so a table of templates and the messages file can be compared, and a
 * structured text filled from the file's own words.
 */
import { expect } from 'vitest';
import messages from '../../public/_locales/en/messages.json';

interface Entry {
  message: string;
  placeholders?: Record<string, { content: string }>;
}

/** The messages file, by key. */
export const MESSAGES = messages as unknown as Record<string, Entry>;

/** The message `key` written back as a template, or undefined when the file has no such key. */
export function messageTemplate(key: string): string | undefined {
  const entry = MESSAGES[key];
  if (!entry) return undefined;
  return entry.message.replace(/\$([A-Za-z0-9_@]+)\$/g, (whole, name: string) => {
    return entry.placeholders?.[name.toLowerCase()]?.content ?? whole;
  });
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
