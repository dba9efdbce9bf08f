import { afterEach, describe, expect, it, vi } from 'vitest';
import { browser } from 'wxt/browser';
import { engineSentence } from '@/lib/engine/engine-text';
import { EngineError } from '@/lib/engine/types';
import { GuardError, toGuardError } from '@/lib/guard/errors';
import type { Verdict } from '@/lib/guard/types';
import { defaultSettings, type Settings } from '@/lib/settings/schema';
import { MENU_CHECK_IMAGE, MENU_CHECK_SELECTION, runMenuCheck } from './context-menu';
import type { EngineHost } from './host';
import type { ImageCodec } from './images';

function host(
  verdict: Verdict | Error,
  settings: Partial<Settings> = {},
  notConfigured: string | null = null,
) {
  const check = vi.fn(async () => {
    if (verdict instanceof Error) throw verdict;
    return verdict;
  });
  const h = {
    engine: { check },
    state: {
      settings: { ...defaultSettings(), provider: 'custom', guardModel: 'llama-guard-4-12b', ...settings },
    },
    notConfigured: () => notConfigured,
  };
  return { h: h as unknown as EngineHost, check };
}

const tab = { id: 5, url: 'https://news.example/a', incognito: false };
const selection = (text: string) => ({
  menuItemId: MENU_CHECK_SELECTION,
  selectionText: text,
  frameId: 0,
  pageUrl: 'https://news.example/a',
});
const noBlob = () => Promise.reject(new Error('not expected'));
const UNSAFE: Verdict = { safe: false, categories: ['S1', 'S12'], unknownCategories: [] };

/** A codec that reads any PNG as 200×200. */
const codec: ImageCodec = {
  async decode() {
    return { width: 200, height: 200, encode: async () => new Blob([]), close() {} };
  },
};
const PNG = `data:image/png;base64,${Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).toString('base64')}`;

describe('runMenuCheck: selected text', () => {
  it('checks the selection and names every category found, with the action for the page', async () => {
    const { h, check } = host(UNSAFE, { categoryActions: { S12: 'ignore' } });
    const result = await runMenuCheck(h, selection('  some   selected text '), tab, noBlob);
    expect(check).toHaveBeenCalledWith(
      expect.objectContaining({
        kind: 'text',
        priority: 'viewport',
        text: '  some   selected text ',
        tabId: 5,
        frameId: 0,
        url: 'https://news.example/a',
        ref: expect.stringMatching(/^menu\d+$/),
      }),
    );
    expect(result).toMatchObject({
      kind: 'text',
      snippet: 'some selected text',
      status: 'flagged',
      categories: ['S1', 'S12'],
      names: ['Violent Crimes', 'Sexual Content'],
      action: 'blur',
    });
  });

  it('says when nothing was flagged', async () => {
    const { h } = host({ safe: true, categories: [], unknownCategories: [] });
    expect(await runMenuCheck(h, selection('hello'), tab, noBlob)).toMatchObject({
      status: 'safe',
      categories: [],
    });
  });

  it('sends nothing from an excluded or paused site, or before the endpoint is set up', async () => {
    for (const [settings, reason] of [
      [{ excludedSites: ['news.example'] }, 'This site is excluded in Guardlens’ settings.'],
      [{ pausedSites: ['news.example'] }, 'Guardlens is paused on this site.'],
    ] as const) {
      const { h, check } = host(UNSAFE, settings as unknown as Partial<Settings>);
      expect(await runMenuCheck(h, selection('text'), tab, noBlob)).toMatchObject({
        status: 'refused',
        reason,
      });
      expect(check).not.toHaveBeenCalled();
    }
    const { h, check } = host(UNSAFE, {}, 'The endpoint URL is missing.');
    expect(await runMenuCheck(h, selection('text'), tab, noBlob)).toMatchObject({ status: 'refused' });
    expect(check).not.toHaveBeenCalled();
  });

  it('reports an empty selection and endpoint errors, never a silent "safe"', async () => {
    const { h } = host(new Error('The endpoint is failing: HTTP 503.'));
    expect(await runMenuCheck(h, selection('   '), tab, noBlob)).toMatchObject({
      status: 'error',
      reason: 'No text is selected.',
    });
    expect(await runMenuCheck(h, selection('text'), tab, noBlob)).toMatchObject({
      status: 'error',
      reason: 'The endpoint is failing: HTTP 503.',
    });
  });
});

describe('runMenuCheck: words from the messages file', () => {
  afterEach(() => vi.restoreAllMocks());
  const pseudo = (key: string, subs?: string[]) => `«${key}${subs?.length ? `:${subs.join('|')}` : ''}»`;

  it("says why it did not check, and what the endpoint answered, in the messages file's words", async () => {
    vi.spyOn(browser.i18n as unknown as { getMessage: typeof pseudo }, 'getMessage').mockImplementation(
      pseudo,
    );
    const { h: paused } = host(UNSAFE, { pausedSites: ['news.example'] });
    expect(await runMenuCheck(paused, selection('text'), tab, noBlob)).toMatchObject({
      reason: '«check_refused_paused»',
    });
    const down = toGuardError(new TypeError('Failed to fetch'), {
      baseUrl: 'https://guard.example/v1',
      model: 'lg4',
    });
    expect(down).toBeInstanceOf(GuardError);
    const { h } = host(down);
    expect(await runMenuCheck(h, selection('   '), tab, noBlob)).toMatchObject({
      reason: '«check_error_no_text»',
    });
    expect(await runMenuCheck(h, selection('text'), tab, noBlob)).toMatchObject({
      status: 'error',
      reason: '«error_detail_unreachable:guard.example|https://guard.example/v1|Failed to fetch»',
    });
    const { h: textOnly } = host(UNSAFE, { guardModel: 'llama-guard-3-8b' });
    expect(
      await runMenuCheck(textOnly, { menuItemId: MENU_CHECK_IMAGE, srcUrl: PNG }, tab, noBlob),
    ).toMatchObject({
      status: 'refused',
      reason: '«image_unsupported_model:Llama Guard 3 8B»',
    });
    const { h: offline } = host(new EngineError('offline', engineSentence('engine_error_offline')));
    expect(await runMenuCheck(offline, selection('text'), tab, noBlob)).toMatchObject({
      status: 'error',
      reason: '«engine_error_offline»',
    });
  });
});

describe('runMenuCheck: an image', () => {
  const image = (srcUrl: string) => ({ menuItemId: MENU_CHECK_IMAGE, srcUrl, frameId: 2, pageUrl: tab.url });

  it('checks the image and keeps its address for the page', async () => {
    const { h, check } = host(UNSAFE);
    const result = await runMenuCheck(h, image(PNG), tab, noBlob, codec);
    expect(check).toHaveBeenCalledWith(
      expect.objectContaining({ kind: 'image', frameId: 2, imageData: PNG }),
    );
    expect(result).toMatchObject({
      kind: 'image',
      src: PNG,
      status: 'flagged',
      names: ['Violent Crimes', 'Sexual Content'],
    });
  });

  it('reads a blob: image through the page', async () => {
    const { h, check } = host({ safe: true, categories: [], unknownCategories: [] });
    const readBlob = vi.fn(async () => PNG);
    expect(await runMenuCheck(h, image('blob:https://news.example/1'), tab, readBlob, codec)).toMatchObject({
      status: 'safe',
    });
    expect(readBlob).toHaveBeenCalledWith('blob:https://news.example/1');
    expect(check).toHaveBeenCalledWith(expect.objectContaining({ imageData: PNG }));
  });

  it('refuses when the model or endpoint takes no images', async () => {
    const { h, check } = host(UNSAFE, { guardModel: 'llama-guard-3-8b' });
    expect(await runMenuCheck(h, image(PNG), tab, noBlob, codec)).toMatchObject({
      status: 'refused',
      reason: expect.stringMatching(/does not take images/),
    });
    expect(check).not.toHaveBeenCalled();
  });
});
