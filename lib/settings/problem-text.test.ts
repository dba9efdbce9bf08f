/**
 * The settings problems' English lives once in `problem-text.ts`; the extension shows the messages file's
 * version. These tests keep the two equal and check that every sentence lib produces can be taken apart again.
 */
import { describe, expect, it } from 'vitest';
import { expectInMessages } from '../../test/unit/messages-file';
import { validateBaseUrl } from '../providers/presets';
import { missingEndpointSetting } from './endpoint';
import { parseHostPattern } from './hosts';
import { importSettings } from './io';
import { parseManagedPolicy } from './policy';
import { PROBLEM_TEMPLATES, type ProblemKey, parseProblem, problemText } from './problem-text';
import { checkApiKey, checkSettingsPatch, normalizeSettings } from './schema';

/** Problems from every producer, bad input of each kind. */
function sampleProblems(): string[] {
  const big = 'x'.repeat(300);
  return [
    ...normalizeSettings('nope').problems,
    ...normalizeSettings({
      provider: 'nope',
      enabled: 'yes',
      concurrency: 99,
      baseUrl: 'ftp://x',
      model: 'has space',
      dailyBudgetUsd: -1,
      categoryActions: { s1: 'explode', '?': 'blur' },
      customCategories: [
        1,
        { code: '1x' },
        { code: 'X1', name: '' },
        { code: 'X2', name: 'a', description: 5 },
      ],
      excludedSites: ['not a site/', 5],
      chatbotSites: { 'no such bot': true, chatgpt: 'on' },
      apiKey: 'k',
      surprise: 1,
    }).problems,
    ...normalizeSettings({ provider: 'groq', requestMode: 'raw' }).problems,
    ...normalizeSettings({ model: big }).problems,
    ...checkSettingsPatch(5).problems,
    ...checkSettingsPatch(
      { enabled: 3, categories: 'x', categoryActions: 1 },
      problemText('settings_outcome_not_saved'),
    ).problems,
    ...importSettings('').problems,
    ...importSettings('{').problems,
    ...importSettings('[]').problems,
    ...importSettings('{"format": "other"}').problems,
    ...importSettings('{"format": "guardlens-settings", "version": 0}').problems,
    ...importSettings(
      '{"format": "guardlens-settings", "version": 99, "extra": 1, "settings": [], "apiKey": 5}',
    ).problems,
    ...importSettings('{"format": "guardlens-settings", "version": 1}').problems,
    ...importSettings(
      '{"format": "guardlens-settings", "version": 1, "settings": {"enabled": 1, "provider": "groq", "requestMode": "raw"}}',
    ).problems,
    ...parseManagedPolicy(7).problems,
    ...parseManagedPolicy({
      nope: 1,
      lockSettings: 'yes',
      apiKey: 'has space',
      model: ' ',
      enabled: 'x',
      excludedSites: ['not a site/'],
      provider: 'custom',
    }).problems,
    ...parseManagedPolicy({ apiKey: '', provider: 'groq', requestMode: 'raw' }).problems,
    ...[checkApiKey(5), checkApiKey(big.repeat(100)), checkApiKey('a b')].map((r) => (r.ok ? '' : r.error)),
    ...siteProblems(),
    ...baseUrlProblems(),
    ...setupProblems(),
  ];
}

/** Why each kind of bad site pattern is refused. */
function siteProblems(): string[] {
  const bad = [
    5,
    'x'.repeat(300),
    'https://exa mple.com',
    'ftp://example.com',
    '*',
    '*.exa*mple.com',
    'example.com/path',
    'example.com:8080',
    '[::1',
    '%%%',
    'exa$mple.com',
    `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(10)}`,
    'a..b',
    `${'a'.repeat(64)}.com`,
    '*.10.0.0.1',
    '*.',
  ];
  return bad.map((input) => {
    const result = parseHostPattern(input);
    return result.ok ? '' : result.error;
  });
}

/** What the endpoint settings lack, one of each. */
function setupProblems(): string[] {
  const settings = normalizeSettings({ provider: 'openrouter' }).settings;
  return [
    missingEndpointSetting({ ...settings, provider: 'custom', baseUrl: '' }, 'k'),
    missingEndpointSetting({ ...settings, model: '' }, 'k'),
    missingEndpointSetting(settings, ''),
  ].map((text) => text ?? '');
}

/** Why each kind of bad base URL is refused. */
function baseUrlProblems(): string[] {
  return [
    '',
    'not a url',
    'ftp://x.example/v1',
    'https://u:p@x.example/v1',
    'http://x.example/v1',
    'https://x.example/v1?a=1',
  ].map((url) => {
    const result = validateBaseUrl(url);
    return result.ok ? '' : result.error;
  });
}

describe('settings problem messages', () => {
  it('every problem key is in messages.json with the same English as lib', () => {
    expectInMessages(PROBLEM_TEMPLATES);
  });

  it('formats a template with its values in order', () => {
    expect(problemText('settings_problem_unknown_key', '"x"')).toBe('Unknown setting "x" was ignored.');
    expect(problemText('settings_import_newer', 3, 1)).toBe(
      'The settings file was written by a newer Guardlens (file version 3, this one reads 1); settings this version does not know were skipped.',
    );
  });

  it('every problem lib produces is a known sentence that formats back to itself', () => {
    const problems = sampleProblems();
    expect(problems.length).toBeGreaterThan(30);
    const seen = new Set<ProblemKey>();
    for (const text of problems) {
      expect(text, 'a producer gave no problem').not.toBe('');
      const parsed = parseProblem(text);
      expect(parsed, text).toBeDefined();
      expect(problemText(parsed!.key, ...parsed!.subs)).toBe(text);
      seen.add(parsed!.key);
      for (const sub of parsed!.subs) {
        const inner = parseProblem(sub);
        if (inner) seen.add(inner.key);
      }
    }
    // The samples reach most templates, so a sentence lib writes by hand would show up here.
    expect(seen.size).toBeGreaterThan(Object.keys(PROBLEM_TEMPLATES).length / 2);
  });

  it('takes nested sentences apart: the reason and the ending are problems of their own', () => {
    const [text] = checkSettingsPatch(
      { scanText: 'yes' },
      problemText('settings_outcome_not_saved'),
    ).problems;
    const parsed = parseProblem(text!);
    expect(parsed?.key).toBe('settings_problem_field');
    expect(parsed?.subs[0]).toBe('scanText');
    expect(parseProblem(parsed!.subs[1]!)?.key).toBe('settings_reason_boolean');
    expect(parseProblem(parsed!.subs[2]!)?.key).toBe('settings_outcome_not_saved');
  });

  it('words what the endpoint settings lack from templates', () => {
    expect(setupProblems().map((text) => parseProblem(text)?.key)).toEqual([
      'settings_setup_no_url',
      'settings_setup_no_model',
      'settings_setup_no_key',
    ]);
    expect(parseProblem(setupProblems()[2]!)?.subs).toEqual(['OpenRouter']);
  });

  it('words every site pattern and base URL problem from a template', () => {
    const keys = new Set(
      [...siteProblems(), ...baseUrlProblems()].map((text) => {
        const parsed = parseProblem(text);
        expect(parsed, text).toBeDefined();
        return parsed!.key;
      }),
    );
    const expected = Object.keys(PROBLEM_TEMPLATES).filter(
      (key) => key.startsWith('settings_site_') || key.startsWith('settings_base_url_'),
    );
    expect([...keys].sort()).toEqual(expected.sort());
    // The pattern as typed is a value, not part of the sentence.
    expect(parseProblem(siteProblems()[6]!)).toEqual({
      key: 'settings_site_host_only',
      subs: ['"example.com/path"'],
    });
  });

  it('prefers the most specific sentence and leaves other text alone', () => {
    expect(parseProblem('Policy "apiKey" is empty; it was ignored.')?.key).toBe(
      'settings_policy_api_key_empty',
    );
    expect(parseProblem('Something else went wrong.')).toBeUndefined();
    expect(parseProblem('')).toBeUndefined();
  });
});
