/**
 * A pseudo-locale: `getMessage` answers `«key:value|value»` for every key. What the extension then shows for
 * endpoint errors, site patterns and base URLs must hold no English from `lib/`: only the markers and the values
 * that are data (the provider's name, the model id, a URL, the endpoint's own answer, the pattern as typed).
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { browser } from 'wxt/browser';
import { IMAGE_TEXTS } from '@/entrypoints/background/images';
import { createTranslate } from '@/entrypoints/chatbot.content/i18n';
import { readAsDataUrl } from '@/entrypoints/content/media';
import { engineSentence, failingSentence } from '@/lib/engine/engine-text';
import { EngineError } from '@/lib/engine/types';
import { createGuardClient, type EndpointConfig } from '@/lib/guard/client';
import { type GuardError, GuardOutputError, toGuardError } from '@/lib/guard/errors';
import { validateBaseUrl } from '@/lib/providers/presets';
import { missingEndpointSetting } from '@/lib/settings/endpoint';
import { parseHostPattern } from '@/lib/settings/hosts';
import { problemText } from '@/lib/settings/problem-text';
import { normalizeSettings } from '@/lib/settings/schema';
import { errorHint, errorMessage, templateMessage, textForPage } from '@/utils/i18n';
import { problemMessage } from './i18n';

const pseudo = (key: string, subs?: string | string[]) => {
  const values = subs === undefined ? [] : Array.isArray(subs) ? subs : [subs];
  return `«${key}${values.length ? `:${values.join('|')}` : ''}»`;
};

/** What is left of a text once the markers and the data values are taken out. */
function leftover(text: string, data: string[]): string {
  let rest = text;
  for (const value of [...data].sort((a, b) => b.length - a.length)) rest = rest.split(value).join('');
  return rest.replace(/«[a-z0-9_]+:?/g, '').replace(/[»|]/g, '');
}

const ctx = {
  baseUrl: 'https://openrouter.ai/api/v1',
  model: 'meta-llama/llama-guard-4-12b',
  preset: 'openrouter',
};
const ollama = { baseUrl: 'http://localhost:11434/v1', model: 'llama-guard3:1b', preset: 'ollama' };
const DATA = [
  'OpenRouter',
  // Provider names are names, shown as they are everywhere (the popup's endpoint facts too).
  'Ollama (local)',
  ctx.baseUrl,
  ctx.model,
  ollama.baseUrl,
  'localhost:11434',
  'No auth credentials found',
  'Rate limit reached',
  'Failed to fetch',
  'Unexpected token < in JSON',
  '"I cannot help with that."',
  '"X?"',
  'X?',
];

function apiError(status: number, message?: string, headers: Record<string, string> = {}): APIError {
  const body = message === undefined ? undefined : { error: { message } };
  return APIError.generate(status, body, message === undefined ? '' : undefined, new Headers(headers));
}

function samples(): [string, GuardError][] {
  return [
    ['401', toGuardError(apiError(401, 'No auth credentials found'), ctx)],
    ['403', toGuardError(apiError(403, 'No auth credentials found'), ctx)],
    ['404', toGuardError(apiError(404, 'No auth credentials found'), ctx)],
    ['413', toGuardError(apiError(413), ctx)],
    ['429', toGuardError(apiError(429, 'Rate limit reached', { 'retry-after': '120' }), ctx)],
    ['503', toGuardError(apiError(503), ctx)],
    ['unreachable', toGuardError(new APIConnectionError({ cause: new TypeError('Failed to fetch') }), ctx)],
    ['Ollama CORS', toGuardError(new TypeError('Failed to fetch'), ollama)],
    ['timeout', toGuardError(new APIConnectionTimeoutError(), { ...ctx, timeoutMs: 8000 })],
    ['cancelled', toGuardError(new APIUserAbortError(), ctx)],
    ['bad JSON', toGuardError(new SyntaxError('Unexpected token < in JSON'), ctx)],
    [
      'bad output',
      new GuardOutputError('I cannot help with that.', 'first line is neither "safe" nor "unsafe"'),
    ],
    ['bad code', new GuardOutputError('X?', '"X?" is not a category code')],
  ];
}

beforeEach(() => {
  vi.spyOn(browser.i18n as unknown as { getMessage: typeof pseudo }, 'getMessage').mockImplementation(pseudo);
});
afterEach(() => vi.restoreAllMocks());

describe('pseudo-locale', () => {
  it('endpoint errors: the message and the hint are the messages file’s, with data as values', () => {
    for (const [name, error] of samples()) {
      const data = error.toJSON();
      const message = errorMessage(data);
      const hint = errorHint(data);
      expect(message, name).toMatch(/^«error_detail_/);
      expect(hint, name).toMatch(/^«error_(fix|hint)_/);
      expect(leftover(message, DATA).replace(/[\d.:\s]/g, ''), `${name}: ${message}`).toBe('');
      expect(leftover(hint, DATA).replace(/[\d.:\s]/g, ''), `${name}: ${hint}`).toBe('');
    }
  });

  it('what the guard client refuses or cannot read: the message and the hint are the messages file’s', async () => {
    const refused = (over: Partial<EndpointConfig>) => {
      try {
        createGuardClient({
          baseUrl: 'https://guard.example/v1',
          model: 'm',
          guardModel: 'llama-guard-4-12b',
          mode: 'chat',
          presetId: 'custom',
          ...over,
        });
      } catch (err) {
        return err as GuardError;
      }
      throw new Error('expected a config error');
    };
    const html = createGuardClient({
      baseUrl: 'https://guard.example/v1',
      model: 'm',
      guardModel: 'llama-guard-4-12b',
      mode: 'chat',
      maxRetries: 0,
      fetch: (async () => new Response('<p>X?</p>', { headers: { 'content-type': 'text/html' } })) as never,
    });
    const notJson = await html.classify([{ role: 'user', text: 'x' }]).catch((err: GuardError) => err);
    const cases: [string, GuardError][] = [
      ['no key', refused({ presetId: 'openrouter' })],
      ['no raw', refused({ presetId: 'groq', apiKey: 'k', mode: 'raw' })],
      ['base URL', refused({ baseUrl: 'ftp://guard.example/v1' })],
      ['not JSON', notJson as GuardError],
    ];
    const data = [...DATA, 'Groq', 'ftp:', 'text/html', '"<p>X?</p>"'];
    for (const [name, error] of cases) {
      const json = error.toJSON();
      const message = errorMessage(json);
      const hint = errorHint(json);
      expect(message, name).toMatch(/^«(error_config_|error_detail_|settings_base_url_)/);
      expect(hint, name).toMatch(/^«error_fix_/);
      expect(leftover(message, data).replace(/[\s]/g, ''), `${name}: ${message}`).toBe('');
      expect(leftover(hint, data).replace(/[\s]/g, ''), `${name}: ${hint}`).toBe('');
    }
  });

  it('the scan engine’s reasons, with the endpoint error it quotes translated too', () => {
    const failure = toGuardError(apiError(503), ctx);
    const failing = new EngineError('circuit-open', failingSentence(`${failure.kind}: ${failure.message}`));
    expect(errorMessage(failing)).toBe(
      '«engine_error_failing:server|«error_detail_status_bare:OpenRouter|503»»',
    );
    // The background translates the quoted error before it sends the text to the chatbot panel.
    expect(createTranslate(pseudo).text(textForPage(failing.messageText!), failing.message)).toBe(
      errorMessage(failing),
    );
    const texts = [
      engineSentence('engine_error_offline'),
      engineSentence('engine_error_dropped'),
      engineSentence('engine_status_failures_many_last_retrying', 3, 'server', failure.message),
      engineSentence('engine_status_budget', '$0.0123', '$0.01'),
    ];
    for (const { english, text } of texts) {
      const shown = errorMessage({ message: english, messageText: text });
      expect(shown, english).toMatch(/^«engine_/);
      expect(leftover(shown, [...DATA, 'server', '$0.0123', '$0.01']).replace(/[\d\s]/g, ''), shown).toBe('');
    }
  });

  it('why the page could not read an image: worded on the page from its own messages', async () => {
    const answers = [
      new Response('', { status: 404 }),
      new Response(new Blob([new Uint8Array(8)]), { status: 200 }),
    ];
    const fetchSpy = vi.spyOn(globalThis, 'fetch').mockImplementation(async () => answers.shift()!);
    const blobSpy = vi.spyOn(Blob.prototype, 'size', 'get').mockReturnValue(10_000_000);
    try {
      await expect(readAsDataUrl('blob:https://a.example/1')).rejects.toThrow('«page_imageReadStatus:404»');
      await expect(readAsDataUrl('blob:https://a.example/2')).rejects.toThrow('«page_imageTooLarge»');
    } finally {
      fetchSpy.mockRestore();
      blobSpy.mockRestore();
    }
    expect(templateMessage(IMAGE_TEXTS, 'image_skipped_off')).toBe('«image_skipped_off»');
    expect(templateMessage(IMAGE_TEXTS, 'image_error_unreadable')).toBe('«image_error_unreadable»');
  });

  it('the reason a model answer is refused is translated inside the message', () => {
    const data = new GuardOutputError('I cannot help with that.', 'more than two lines').toJSON();
    expect(errorMessage(data)).toBe(
      '«error_detail_bad_output:«error_reason_lines»|"I cannot help with that."»',
    );
  });

  it('the chatbot panel shows the same texts', () => {
    const t = createTranslate(pseudo);
    for (const [name, error] of samples()) {
      const data = error.toJSON();
      const shown = t.text(data.messageText!, data.message);
      expect(shown, name).toBe(errorMessage(data));
    }
  });

  it('site patterns and base URLs, alone and inside a settings problem', () => {
    const site = parseHostPattern('example.com/path');
    const url = validateBaseUrl('http://guard.example/v1');
    expect(site.ok || url.ok).toBe(false);
    const texts = [
      !site.ok ? site.error : '',
      !url.ok ? url.error : '',
      ...normalizeSettings({ excludedSites: ['example.com:8080'], baseUrl: 'ftp://guard.example/v1' })
        .problems,
    ];
    expect(texts).toHaveLength(4);
    const data = ['"example.com/path"', '"example.com:8080"', 'excludedSites', 'baseUrl', 'ftp:'];
    for (const text of texts) {
      const shown = problemMessage(text);
      expect(shown, text).toMatch(/^«settings_/);
      expect(leftover(shown, data).replace(/[\s]/g, ''), `${text} → ${shown}`).toBe('');
    }
    expect(
      problemMessage(
        problemText('settings_problem_stored_key', problemText('settings_problem_api_key_chars')),
      ),
    ).toBe('«settings_problem_stored_key:«settings_problem_api_key_chars»»');
    const settings = normalizeSettings({ provider: 'groq' }).settings;
    expect(problemMessage(missingEndpointSetting(settings, '')!)).toBe('«settings_setup_no_key:Groq»');
    expect(problemMessage(texts[2]!)).toBe(
      '«settings_problem_site_dropped:«settings_site_port:"example.com:8080"»|excludedSites»',
    );
  });
});
