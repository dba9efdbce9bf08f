/**
 * Every language Guardlens speaks has every message of `public/_locales/en/messages.json`: the same keys, no key
 * English does not have, the same placeholders (names and contents), every `$NAME$` a message uses declared, no
 * empty message, and a store name and description within the stores' limits. The browser shows a missing key as
 * nothing (or falls back to English mid-page) and a wrong placeholder as a literal `$NAME$` or a lost value, so
 * none of that may reach a release.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOCALES } from '@/utils/locale';
import { MESSAGES } from './messages-file';

interface Entry {
  message?: unknown;
  description?: unknown;
  placeholders?: Record<string, { content?: unknown; example?: unknown }>;
}

const LOCALES_DIR = path.resolve(__dirname, '../../public/_locales');
const DIRS = readdirSync(LOCALES_DIR)
  .filter((name) => statSync(path.join(LOCALES_DIR, name)).isDirectory())
  .sort();
const TRANSLATIONS = DIRS.filter((dir) => dir !== 'en');

/** Chrome Web Store: a name of at most 75 characters, a summary of at most 132 (AMO allows 250). */
const NAME_MAX = 75;
const DESCRIPTION_MAX = 132;

function readLocale(dir: string): Record<string, Entry> {
  const text = readFileSync(path.join(LOCALES_DIR, dir, 'messages.json'), 'utf8');
  return JSON.parse(text.replace(/^\uFEFF/, '')) as Record<string, Entry>;
}

/** The placeholder names a message uses (`$COUNT$` → `count`; names are case-insensitive to the browsers). */
function usedPlaceholders(message: string): Set<string> {
  return new Set([...message.matchAll(/\$([A-Za-z0-9_@]+)\$/g)].map((m) => m[1]!.toLowerCase()));
}

/** The declared placeholders, by lower-case name, with their contents. */
function declared(entry: Entry): Map<string, unknown> {
  return new Map(
    Object.entries(entry.placeholders ?? {}).map(([name, p]) => [name.toLowerCase(), p?.content]),
  );
}

/** A `$` that is neither `$NAME$` nor `$$` (the browsers would show it, or misread what follows). */
function strayDollar(message: string): boolean {
  return message
    .replace(/\$[A-Za-z0-9_@]+\$/g, '')
    .replace(/\$\$/g, '')
    .includes('$');
}

describe('the locales', () => {
  it('are the ones Guardlens says it speaks (utils/locale.ts), English among them', () => {
    expect(DIRS).toContain('en');
    expect(DIRS).toEqual([...LOCALES].sort());
  });

  it('English itself: every placeholder used is declared, and nothing else has a $', () => {
    for (const [key, entry] of Object.entries(MESSAGES)) {
      expect([...usedPlaceholders(entry.message)].sort(), key).toEqual([...declared(entry).keys()].sort());
      expect(strayDollar(entry.message), key).toBe(false);
    }
  });
});

describe.each(DIRS)('_locales/%s/messages.json', (dir) => {
  const messages = readLocale(dir);

  it('has every key of en and no other', () => {
    const keys = Object.keys(messages);
    const missing = Object.keys(MESSAGES).filter((key) => !(key in messages));
    const extra = keys.filter((key) => !(key in MESSAGES));
    expect(missing, `${dir} lacks these keys of en`).toEqual([]);
    expect(extra, `${dir} has keys en does not`).toEqual([]);
  });

  it('has a non-empty message for every key', () => {
    const empty = Object.entries(messages)
      .filter(([, entry]) => typeof entry?.message !== 'string' || entry.message.trim() === '')
      .map(([key]) => key);
    expect(empty).toEqual([]);
  });

  it('declares the placeholders of en (names and contents) and no others, and uses each', () => {
    const wrong: string[] = [];
    for (const [key, entry] of Object.entries(messages)) {
      const english = MESSAGES[key];
      if (!english || typeof entry?.message !== 'string') continue;
      const ours = declared(entry);
      const theirs = declared(english as Entry);
      for (const [name, content] of ours) {
        if (!theirs.has(name)) wrong.push(`${key}: placeholder ${name} is not in en`);
        else if (content !== theirs.get(name))
          wrong.push(`${key}: placeholder ${name} is ${String(content)}, in en ${String(theirs.get(name))}`);
      }
      for (const name of theirs.keys())
        if (!ours.has(name)) wrong.push(`${key}: placeholder ${name} missing`);
      const used = usedPlaceholders(entry.message);
      for (const name of used)
        if (!ours.has(name)) wrong.push(`${key}: $${name.toUpperCase()}$ is not declared`);
      for (const name of theirs.keys())
        if (!used.has(name)) wrong.push(`${key}: $${name.toUpperCase()}$ unused`);
      if (strayDollar(entry.message)) wrong.push(`${key}: a $ that is not a placeholder`);
    }
    expect(wrong).toEqual([]);
  });

  it(`has a store name of at most ${NAME_MAX} and a description of at most ${DESCRIPTION_MAX} characters`, () => {
    const name = messages.extName?.message;
    const description = messages.extDescription?.message;
    expect(typeof name).toBe('string');
    expect(typeof description).toBe('string');
    expect([...(name as string)].length).toBeLessThanOrEqual(NAME_MAX);
    expect([...(description as string)].length, description as string).toBeLessThanOrEqual(DESCRIPTION_MAX);
  });
});

describe('the translations', () => {
  it.skipIf(TRANSLATIONS.length === 0)('are in their own language, not a copy of English', () => {
    for (const dir of TRANSLATIONS) {
      const messages = readLocale(dir);
      const same = Object.keys(MESSAGES).filter(
        (key) =>
          messages[key]?.message === MESSAGES[key]!.message &&
          /[a-z]{4,}\s+[a-z]{4,}/i.test(MESSAGES[key]!.message),
      );
      // A few sentences may stay as they are (names, codes); most of the file may not.
      expect(same.length, `${dir}: ${same.slice(0, 20).join(', ')}`).toBeLessThan(
        Object.keys(MESSAGES).length / 20,
      );
    }
  });
});
