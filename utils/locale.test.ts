import { describe, expect, it } from 'vitest';
import { formatLocale, LOCALES, messagesLocale, pluralPick } from './locale';

describe('messagesLocale', () => {
  it('is the locale whose messages the browser shows: the same, else its language, else English', () => {
    expect(messagesLocale('de')).toBe('de');
    expect(messagesLocale('de-AT')).toBe('de');
    expect(messagesLocale('th-TH')).toBe('th');
    expect(messagesLocale('hi')).toBe('hi');
    expect(messagesLocale('es-419')).toBe('es');
    expect(messagesLocale('pt-BR')).toBe('pt-BR');
    expect(messagesLocale('pt_BR')).toBe('pt-BR');
    // Portugal's Portuguese is not Brazil's: the browsers fall back to the default locale.
    expect(messagesLocale('pt-PT')).toBe('en');
    expect(messagesLocale('en-GB')).toBe('en');
    expect(messagesLocale('ja')).toBe('en');
    expect(messagesLocale('')).toBe('en');
    expect(messagesLocale(undefined)).toBe('en');
    expect(messagesLocale('not a language')).toBe('en');
  });

  it('knows every locale it lists', () => {
    for (const locale of LOCALES) expect(messagesLocale(locale)).toBe(locale.replace('_', '-'));
  });
});

describe('formatLocale', () => {
  it('keeps the region of a language Guardlens speaks, and formats like the messages otherwise', () => {
    expect(formatLocale('de-CH')).toBe('de-CH');
    expect(formatLocale('en-GB')).toBe('en-GB');
    expect(formatLocale('th')).toBe('th');
    expect(formatLocale('ja')).toBe('en');
    expect(formatLocale('pt-PT')).toBe('en');
    expect(formatLocale(undefined)).toBe('en');
  });
});

describe('pluralPick', () => {
  const pick = (n: number, locale: string) => pluralPick(n, locale, 'one', 'many');
  it('follows each language’s plural rules', () => {
    expect([0, 1, 2, 21].map((n) => pick(n, 'en'))).toEqual(['many', 'one', 'many', 'many']);
    expect([0, 1, 2].map((n) => pick(n, 'de'))).toEqual(['many', 'one', 'many']);
    // French, Brazilian Portuguese and Hindi say "0" in the singular.
    for (const locale of ['fr', 'pt-BR', 'hi'])
      expect([0, 1, 2].map((n) => pick(n, locale))).toEqual(['one', 'one', 'many']);
    // Thai has one form.
    expect([0, 1, 2].map((n) => pick(n, 'th'))).toEqual(['many', 'many', 'many']);
    expect([0, 1, 2].map((n) => pick(n, 'es'))).toEqual(['many', 'one', 'many']);
    expect([0, 1, 2].map((n) => pick(n, 'it'))).toEqual(['many', 'one', 'many']);
  });
});
