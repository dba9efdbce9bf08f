// @vitest-environment happy-dom
import { render } from 'preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { browser } from 'wxt/browser';
import { importSettings } from '@/lib/settings/io';
import { problemText } from '@/lib/settings/problem-text';
import { checkSettingsPatch } from '@/lib/settings/schema';
import { problemMessage } from './i18n';
import { ProblemItems } from './ProblemItems';
import { formatMessage, installMessages } from './testing/i18n';

/** A stand-in translation: the messages file's text, marked, with the values filled in. */
const translated = ((name: string, subs?: string | string[]) => {
  const text = formatMessage(name, subs);
  return text ? `[fr] ${text}` : '';
}) as typeof browser.i18n.getMessage;

let root: HTMLElement;
beforeEach(() => {
  installMessages();
  root = document.createElement('div');
  document.body.append(root);
});
afterEach(() => {
  render(null, root);
  root.remove();
  vi.restoreAllMocks();
});

describe('settings problems on the options page', () => {
  it('shows the English of the messages file, equal to lib’s', () => {
    const problems = importSettings('{"format": "guardlens-settings", "version": 1, "nope": 1}').problems;
    render(
      <ul>
        <ProblemItems problems={problems} />
      </ul>,
      root,
    );
    expect([...root.querySelectorAll('li')].map((li) => li.textContent)).toEqual(problems);
    expect(problems[0]).toBe(problemText('settings_import_entry', '"nope"'));
  });

  it('shows a translated problem, its reason and ending translated too', () => {
    const spy = vi.spyOn(browser.i18n, 'getMessage').mockImplementation(translated);
    const [problem] = checkSettingsPatch(
      { scanText: 'yes' },
      problemText('settings_outcome_not_saved'),
    ).problems;
    render(
      <ul>
        <ProblemItems problems={[problem!, 'A sentence from elsewhere.']} />
      </ul>,
      root,
    );
    const shown = [...root.querySelectorAll('li')].map((li) => li.textContent);
    expect(shown[0]).toBe(
      '[fr] Setting "scanText" [fr] must be true or false (got "yes"); [fr] it was not saved.',
    );
    expect(shown[1]).toBe('A sentence from elsewhere.');
    expect(spy).toHaveBeenCalledWith('settings_problem_field', expect.any(Array));
  });

  it('falls back to lib’s English when the browser has no message or fails', () => {
    const text = problemText('settings_policy_model_empty');
    vi.spyOn(browser.i18n, 'getMessage').mockReturnValue('');
    expect(problemMessage(text)).toBe(text);
    vi.spyOn(browser.i18n, 'getMessage').mockImplementation(() => {
      throw new Error('no i18n');
    });
    expect(problemMessage(text)).toBe(text);
  });
});
