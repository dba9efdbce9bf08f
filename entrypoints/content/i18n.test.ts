import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderPageStrings } from '@/utils/i18n';
import { PAGE_MESSAGES } from '@/utils/protocol/page';
import { localeGetMessage } from '../../test/unit/messages-file';
import { t, usePageStrings } from './i18n';

const LOCALES_DIR = path.resolve(__dirname, '../../public/_locales');

const LOCALES = fs
  .readdirSync(LOCALES_DIR)
  .filter((l) => fs.existsSync(path.join(LOCALES_DIR, l, 'messages.json')));

describe('page strings: sent with the page configuration, so the page script never loads the messages', () => {
  afterEach(() => {
    usePageStrings(undefined);
    vi.unstubAllGlobals();
  });

  it('shows every page string as the browser would, in every language, without asking the browser', () => {
    expect(LOCALES.length).toBeGreaterThan(1);
    for (const locale of LOCALES) {
      const getMessage = vi.fn(localeGetMessage(locale));
      // The background renders them once…
      const strings = renderPageStrings(getMessage);
      expect(Object.keys(strings).sort(), locale).toEqual([...PAGE_MESSAGES].sort());
      // …and the page script fills them in, its own `getMessage` never called.
      const pageGetMessage = vi.fn(() => 'asked the browser');
      vi.stubGlobal('chrome', { i18n: { getMessage: pageGetMessage } });
      usePageStrings(structuredClone(strings));
      for (const key of PAGE_MESSAGES) {
        for (const value of ['Hate, Violent Crimes', 'a $1 name, $$ and $2']) {
          expect(t(key, value), `${locale} ${key}`).toBe(getMessage(key, [value]));
        }
      }
      expect(pageGetMessage).not.toHaveBeenCalled();
    }
  });

  it("asks the browser for what was not sent, or not as a string, and a key's name stands in when it cannot", () => {
    const getMessage = vi.fn(
      (key: string, subs?: string[]) => `${key} from the browser: ${subs?.join('|') ?? ''}`,
    );
    vi.stubGlobal('chrome', { i18n: { getMessage } });
    usePageStrings({ page_show: 'Zeigen', page_hide: 42, page_close: '', prompt_edit: 'x' });
    expect(t('page_show')).toBe('Zeigen');
    expect(t('page_hide')).toBe('page_hide from the browser: ');
    expect(t('page_close')).toBe('page_close from the browser: ');
    expect(getMessage).toHaveBeenCalledTimes(2);
    usePageStrings('not an object');
    expect(t('page_show')).toBe('page_show from the browser: ');
    expect(t('page_labelFlagged', 'Hate')).toBe('page_labelFlagged from the browser: Hate');
    // The extension is gone (reloaded under the page), nothing was sent: the key stands in.
    vi.stubGlobal('chrome', {});
    usePageStrings(undefined);
    expect(t('page_labelFlagged', 'Hate')).toBe('page_labelFlagged Hate');
  });

  it('leaves out of what it sends a string the browser has no message for', () => {
    const strings = renderPageStrings((key) =>
      key === 'page_show' ? '' : key === 'page_hide' ? undefined : 'x',
    );
    expect(strings.page_show).toBeUndefined();
    expect(strings.page_hide).toBeUndefined();
    expect(strings.page_close).toBe('x');
    const throwing = renderPageStrings(() => {
      throw new Error('Extension context invalidated.');
    });
    expect(throwing).toEqual({});
  });
});
