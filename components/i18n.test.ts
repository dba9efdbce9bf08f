/**
 * Every message key the code uses exists in `public/_locales/en/messages.json`, every message's placeholders
 * are well formed, and the popup and options page write no text of their own outside that file.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { badgeText } from '@/entrypoints/background/badge';
import { CHECK_TEXTS } from '@/entrypoints/background/context-menu';
import { IMAGE_TEXTS } from '@/entrypoints/background/images';
import { ERROR_HINTS, ERROR_TITLES, GuardError, toGuardError } from '@/lib/guard/errors';
import { getPreset } from '@/lib/providers/presets';
import {
  browserMessage,
  errorHint,
  errorMessage,
  errorTitle,
  lookupMessage,
  presetLabel,
  templateMessage,
} from '@/utils/i18n';
import { PROMPT_ERROR_TEMPLATES } from '@/utils/protocol/prompt';
import messages from '../public/_locales/en/messages.json';
import { messageTemplate } from '../test/unit/messages-file';
import { formatDateTime, formatNumber, formatUsd, plural, t, uiLocale, uiMessagesLocale } from './i18n';
import { installMessages, localeMessages } from './testing/i18n';

const ROOT = path.resolve(__dirname, '..');
const MESSAGES = messages as Record<
  string,
  { message: string; placeholders?: Record<string, { content: string }> }
>;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) {
      if (name !== 'node_modules' && name !== 'testing') out.push(...sourceFiles(full));
    } else if (/\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name)) out.push(full);
  }
  return out;
}

/** Every source file that shows strings: extension pages, shared components, entry points, utils. */
const FILES = ['components', 'entrypoints', 'utils'].flatMap((d) => sourceFiles(path.join(ROOT, d)));
/** The files whose every visible string must come from the messages file. */
const UI_FILES = FILES.filter((f) => /(components|entrypoints[/\\](popup|options))[/\\]/.test(f));

const strip = (code: string) => code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');

beforeEach(() => installMessages());
afterEach(() => vi.restoreAllMocks());

describe('message keys', () => {
  it('finds the code to check', () => {
    expect(UI_FILES.some((f) => f.endsWith('PopupApp.tsx'))).toBe(true);
    expect(UI_FILES.some((f) => f.endsWith('OptionsApp.tsx'))).toBe(true);
  });

  it('every key passed to t(), plural() or getMessage() exists in messages.json', () => {
    const missing: string[] = [];
    let found = 0;
    for (const file of FILES) {
      const code = strip(readFileSync(file, 'utf8'));
      for (const m of code.matchAll(/\b(?:t|getMessage)\(\s*'([^']+)'/g)) {
        found++;
        if (!(m[1]! in MESSAGES)) missing.push(`${path.relative(ROOT, file)}: ${m[1]}`);
      }
      for (const m of code.matchAll(/\bplural\([^,]+,\s*'([^']+)',\s*'([^']+)'/g)) {
        found++;
        for (const key of [m[1]!, m[2]!])
          if (!(key in MESSAGES)) missing.push(`${path.relative(ROOT, file)}: ${key}`);
      }
    }
    expect(found).toBeGreaterThan(200);
    expect(missing).toEqual([]);
  });

  it('every key-shaped string in the UI code (tables of keys included) exists in messages.json', () => {
    const missing: string[] = [];
    for (const file of UI_FILES) {
      const code = strip(readFileSync(file, 'utf8'));
      for (const m of code.matchAll(/'((?:popup|options|common|category|preset|error)_[a-z0-9_]+)'/g))
        if (!(m[1]! in MESSAGES)) missing.push(`${path.relative(ROOT, file)}: ${m[1]}`);
    }
    expect(missing).toEqual([]);
  });

  it('keys are never built at run time', () => {
    for (const file of FILES) {
      const code = strip(readFileSync(file, 'utf8'));
      expect(code, path.relative(ROOT, file)).not.toMatch(/\b(?:t|getMessage)\(\s*`/);
      expect(code, path.relative(ROOT, file)).not.toMatch(/\bt\(\s*[a-z_]+\s*\+/);
    }
  });

  it('the popup and options page have no text of their own in their markup', () => {
    const offenders: string[] = [];
    for (const file of UI_FILES.filter((f) => f.endsWith('.tsx'))) {
      const code = strip(readFileSync(file, 'utf8'));
      // JSX text: between a tag's end and the next tag, outside braces, with a letter in it.
      const text = '([^<>{}()=;&|?]*[A-Za-z][^<>{}()=;&|?]*?)';
      for (const re of [
        new RegExp(`>\\s*${text}\\s*</`, 'g'),
        new RegExp(`\\}${text}\\s*</`, 'g'),
        new RegExp(`>\\s*${text}\\s*\\{`, 'g'),
      ])
        for (const m of code.matchAll(re)) offenders.push(`${path.relative(ROOT, file)}: ${m[1]}`);
      for (const m of code.matchAll(/\b(?:aria-label|title|alt)="([^"]*[A-Za-z][^"]*)"/g))
        offenders.push(`${path.relative(ROOT, file)}: ${m[1]}`);
    }
    expect(offenders).toEqual([]);
  });
});

describe('messages.json', () => {
  it('keys are valid message names and every message has a description', () => {
    for (const [key, entry] of Object.entries(MESSAGES)) {
      expect(key).toMatch(/^[A-Za-z0-9_]+$/);
      expect(entry.message, key).toBeTruthy();
      expect((entry as { description?: string }).description, key).toBeTruthy();
    }
  });

  it('placeholders are used and defined alike, with contents $1…$n in order', () => {
    for (const [key, entry] of Object.entries(MESSAGES)) {
      const used = [...entry.message.matchAll(/\$([A-Za-z0-9_]+)\$/g)].map((m) => m[1]!.toLowerCase());
      const defined = Object.keys(entry.placeholders ?? {});
      expect(new Set(used), key).toEqual(new Set(defined));
      const contents = Object.values(entry.placeholders ?? {}).map((p) => p.content);
      expect(contents, key).toEqual(contents.map((_, i) => `$${i + 1}`));
    }
  });
});

describe('t()', () => {
  it('fills placeholders in order', () => {
    expect(t('popup_progress', 12, 30)).toBe('12 of 30 checked');
    expect(t('options_number_invalid', '200', '100000')).toBe('Enter a number from 200 to 100000.');
  });

  it('picks the singular or plural message with the count formatted', () => {
    expect(plural(1, 'popup_state_flagged_one', 'popup_state_flagged_many')).toBe('1 item flagged');
    expect(plural(1234, 'popup_state_flagged_one', 'popup_state_flagged_many')).toBe('1,234 items flagged');
  });

  it('shows the key rather than nothing when the browser has no message', () => {
    vi.spyOn(browser.i18n, 'getMessage').mockReturnValue('');
    expect(t('popup_reveal')).toBe('popup_reveal');
  });

  it('formats numbers and costs', () => {
    expect(formatNumber(4460)).toBe('4,460');
    expect(formatUsd(0.00123)).toBe('$0.0012');
    expect(formatUsd(1.5)).toBe('$1.50');
    expect(formatUsd(0)).toBe('$0.00');
  });
});

describe('texts whose keys come from lib/', () => {
  it('names an error kind and gives its general hint from the messages file', () => {
    expect(errorTitle('auth')).toBe('The endpoint refused the API key');
    expect(errorHint({ kind: 'timeout', hint: ERROR_HINTS.timeout })).toBe(
      'The endpoint is slow or overloaded; Guardlens tries again by itself. If it keeps happening, choose a faster provider or model.',
    );
    vi.spyOn(browser.i18n, 'getMessage').mockImplementation(((key: string) =>
      key === 'error_kind_auth' ? 'Clé refusée' : key === 'error_hint_timeout' ? 'Réessayez.' : '') as never);
    expect(errorTitle('auth')).toBe('Clé refusée');
    expect(errorHint({ kind: 'timeout', hint: ERROR_HINTS.timeout })).toBe('Réessayez.');
    // A hint naming the endpoint is more specific than the general one: it is kept.
    expect(errorHint({ kind: 'timeout', hint: 'Groq did not answer within 8 s.' })).toBe(
      'Groq did not answer within 8 s.',
    );
    // No message: the English from lib/.
    expect(errorTitle('server')).toBe(ERROR_TITLES.server);
    expect(lookupMessage('cat_lg3_S1_name')).toBeUndefined();
  });

  it('falls back to the English when the browser cannot answer (extension reloaded)', () => {
    vi.spyOn(browser.i18n, 'getMessage').mockImplementation(() => {
      throw new Error('Extension context invalidated.');
    });
    expect(lookupMessage('cat_lg3_S1_name')).toBeUndefined();
    expect(errorTitle('cors')).toBe(ERROR_TITLES.cors);
  });
});

describe('texts the background words itself', () => {
  it('every table of English templates is in messages.json with the same English', () => {
    const tables = { PROMPT_ERROR_TEMPLATES, IMAGE_TEXTS, CHECK_TEXTS };
    const problems: string[] = [];
    for (const [table, templates] of Object.entries(tables))
      for (const [key, template] of Object.entries(templates as Record<string, string>)) {
        const inFile = messageTemplate(key);
        if (inFile !== template)
          problems.push(`${table}.${key}: "${inFile}" in messages.json, "${template}" here`);
      }
    expect(problems).toEqual([]);
  });

  it('templateMessage fills a template from the messages file, and from its English without one', () => {
    expect(templateMessage(IMAGE_TEXTS, 'image_error_http', 404)).toBe(
      'The image could not be downloaded (HTTP 404).',
    );
    vi.spyOn(browser.i18n, 'getMessage').mockImplementation(((key: string, subs?: string[]) =>
      key === 'image_error_http' ? `Téléchargement impossible (HTTP ${subs?.[0]}).` : '') as never);
    expect(templateMessage(IMAGE_TEXTS, 'image_error_http', 404)).toBe(
      'Téléchargement impossible (HTTP 404).',
    );
    expect(templateMessage(IMAGE_TEXTS, 'image_error_scheme', 'ftp:')).toBe(
      'Images from ftp: URLs cannot be checked.',
    );
  });
});

describe('endpoint errors from the messages file', () => {
  const ctx = { baseUrl: 'https://api.groq.com/openai/v1', model: 'llama-guard-4', preset: 'groq' };

  it("shows the message and the specific hint in the file's words, equal to lib's English", () => {
    const error = toGuardError(new TypeError('Failed to fetch'), ctx).toJSON();
    expect(errorMessage(error)).toBe(error.message);
    expect(errorHint(error)).toBe(error.hint);
    vi.spyOn(browser.i18n, 'getMessage').mockImplementation(((key: string, subs?: string[]) =>
      key === 'error_detail_unreachable'
        ? `${subs?.[0]} injoignable (${subs?.[1]}) : ${subs?.[2]}`
        : key === 'error_fix_unreachable'
          ? `Vérifiez ${subs?.[0]}.`
          : '') as never);
    expect(errorMessage(error)).toBe('Groq injoignable (https://api.groq.com/openai/v1) : Failed to fetch');
    expect(errorHint(error)).toBe('Vérifiez https://api.groq.com/openai/v1.');
  });

  it('shows text lib did not build from a template as it is', () => {
    const error = new GuardError('config', 'Groq needs an API key.', {
      hint: 'Add your Groq API key.',
    }).toJSON();
    vi.spyOn(browser.i18n, 'getMessage').mockImplementation((() => '«»') as never);
    expect(errorMessage(error)).toBe('Groq needs an API key.');
    expect(errorHint(error)).toBe('Add your Groq API key.');
    // Data from before the texts existed (an old session's last error) still shows.
    expect(errorMessage({ message: 'Groq answered 500' })).toBe('Groq answered 500');
  });
});

describe('plural forms, numbers and dates in the UI language', () => {
  const speak = (uiLanguage: string) => {
    vi.spyOn(browser.i18n, 'getUILanguage').mockReturnValue(uiLanguage);
    return vi
      .spyOn(browser.i18n, 'getMessage')
      .mockImplementation(((key: string, subs?: string[]) => `${key}(${(subs ?? []).join('|')})`) as never);
  };

  it('picks the message of the count’s plural form in the language the messages are in', () => {
    const cases: [string, number, string][] = [
      ['en-US', 0, 'popup_count_many(0)'],
      ['en-US', 1, 'popup_count_one(1)'],
      ['fr', 0, 'popup_count_one(0)'],
      ['fr', 1, 'popup_count_one(1)'],
      ['fr', 2, 'popup_count_many(2)'],
      ['hi', 0, 'popup_count_one(0)'],
      ['pt-BR', 0, 'popup_count_one(0)'],
      ['de-AT', 0, 'popup_count_many(0)'],
      ['de-AT', 1, 'popup_count_one(1)'],
      ['th', 1, 'popup_count_many(1)'],
      ['de', 1234, 'popup_count_many(1.234)'],
      ['hi', 123456, 'popup_count_many(1,23,456)'],
      // A language Guardlens does not speak shows English: English plural rules and numbers.
      ['ja', 1, 'popup_count_one(1)'],
      ['ja', 0, 'popup_count_many(0)'],
    ];
    for (const [language, count, expected] of cases) {
      speak(language);
      expect(plural(count, 'popup_count_one', 'popup_count_many'), `${language} ${count}`).toBe(expected);
      vi.restoreAllMocks();
    }
  });

  it('picks the plural form of a sentence lib chose by English rules again, with the count formatted', () => {
    speak('de');
    expect(browserMessage('engine_status_failures_many_last', ['1', 'timeout', 'x'])).toBe(
      'engine_status_failures_one_last(1|timeout|x)',
    );
    expect(browserMessage('engine_status_failures_many', ['2048'])).toBe(
      'engine_status_failures_many(2.048)',
    );
    expect(browserMessage('error_config_image_limit', ['LG', '1', '3'])).toBe(
      'error_config_image_limit_one(LG|1|3)',
    );
    vi.restoreAllMocks();
    speak('th');
    expect(browserMessage('engine_status_failures_one', ['1'])).toBe('engine_status_failures_many(1)');
    // Not a count: passed on as it is.
    expect(browserMessage('engine_status_failures_one', [''])).toBe('engine_status_failures_one()');
  });

  it('formats numbers, costs, dates and the badge for the UI language', () => {
    speak('de-DE');
    expect(formatNumber(4460)).toBe('4.460');
    expect(formatUsd(1.5)).toBe('1,50\u00a0$');
    expect(formatDateTime(Date.UTC(2026, 11, 7, 1, 2))).toMatch(/^07\.12\.26, \d\d:02$/);
    expect(badgeText(12)).toBe('12');
    expect(badgeText(0)).toBe('');
    expect(badgeText(5000)).toBe('999');
    vi.restoreAllMocks();
    speak('th');
    expect(formatNumber(4460)).toBe('4,460');
    // Thai dates are in the Buddhist era.
    expect(formatDateTime(Date.UTC(2026, 11, 7, 12, 0))).toContain('69');
    expect(uiLocale()).toBe('th');
    expect(uiMessagesLocale()).toBe('th');
    vi.restoreAllMocks();
    speak('ja');
    expect(uiLocale()).toBe('en');
  });
});

describe('provider names', () => {
  it('shows the descriptive preset names in the UI language and brand names as they are', () => {
    installMessages('de', 'de');
    expect(presetLabel(getPreset('custom'))).toBe(localeMessages('de').preset_label_custom!.message);
    expect(presetLabel(getPreset('ollama'))).toBe('Ollama (lokal)');
    expect(presetLabel(getPreset('groq'))).toBe('Groq');
    // lib names the provider in English inside a sentence; the browser gets the file's name for it.
    expect(browserMessage('options_provider_docs', ['Ollama (local)'])).toContain('Ollama (lokal)');
    expect(browserMessage('options_provider_docs', ['Groq'])).toContain('Groq');
    installMessages();
    expect(presetLabel(getPreset('custom'))).toBe('Custom endpoint');
  });
});
