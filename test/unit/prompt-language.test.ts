/**
 * What Guardlens sends to the model stays English whatever language the browser speaks: the models were trained
 * on the official category table, so only what a person sees is translated. With the browser's i18n answering in
 * German (`public/_locales/de`, or a pseudo-locale while that file is not there) the requests the background makes
 * from the settings (`endpointConfigFromSettings` → the guard client) are byte for byte the ones it makes in
 * English, and every category line is the registry's English (`promptName`), never a translated name.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { browser } from 'wxt/browser';
import { hasLocale, installMessages, localeMessages } from '@/components/testing/i18n';
import { createGuardClient } from '@/lib/guard/client';
import { buildRawPrompt } from '@/lib/guard/prompt';
import { categoryFamily, categoryMessageKeys, getGuardModel, localizeCategory } from '@/lib/guard/registry';
import { GUARD_MODEL_IDS, type GuardModelId } from '@/lib/guard/types';
import { endpointConfigFromSettings } from '@/lib/settings/endpoint';
import { defaultSettings } from '@/lib/settings/schema';
import type { RecordedRequest } from '../server/guard-server';
import { type GuardServer, startGuardServer } from '../server/guard-server';

const GERMAN = hasLocale('de') ? 'de' : undefined;

/** The browser in German: the `de` messages file, or every message marked as translated when it is missing. */
function speakGerman(): void {
  if (GERMAN) {
    installMessages(GERMAN, 'de-DE');
    return;
  }
  const i18n = browser.i18n as unknown as Record<string, unknown>;
  vi.spyOn(i18n as { getMessage: (key: string) => string }, 'getMessage').mockImplementation(
    (key: string) => `«de:${key}»`,
  );
  vi.spyOn(i18n as { getUILanguage: () => string }, 'getUILanguage').mockImplementation(() => 'de-DE');
}

let server: GuardServer;
beforeAll(async () => {
  server = await startGuardServer({ preloadTokenizer: true });
});
afterAll(async () => {
  await server?.close();
});
afterEach(() => vi.restoreAllMocks());

/** The bodies of the requests a check of `text` makes with `guardModel` in `mode`, with one custom category. */
async function requestsFor(
  guardModel: GuardModelId,
  mode: 'chat' | 'raw',
): Promise<RecordedRequest['body'][]> {
  server.reset();
  const settings = {
    ...defaultSettings(),
    provider: 'custom' as const,
    baseUrl: server.baseUrl,
    model: `test/${guardModel}`,
    guardModel,
    requestMode: mode,
    customCategories: [{ code: 'S99', name: 'Gambling', description: 'Content that promotes betting.' }],
  };
  const client = createGuardClient({ ...endpointConfigFromSettings(settings, 'test-key'), maxRetries: 0 });
  await client.classify([{ role: 'user', text: 'Wie backe ich Brot? GLTEST-S1' }]);
  return server.requests.map((r) => r.body);
}

describe.each(GUARD_MODEL_IDS)('%s', (id) => {
  const model = getGuardModel(id);

  it.each(['chat', 'raw'] as const)(
    '%s mode: the request is the same in German as in English',
    async (mode) => {
      installMessages();
      const english = await requestsFor(id, mode);
      speakGerman();
      expect(browser.i18n.getUILanguage()).toBe('de-DE');
      const german = await requestsFor(id, mode);
      expect(german).toEqual(english);
      expect(JSON.stringify(german)).not.toContain('«de:');
    },
  );

  it('the raw prompt lists the English categories, not the ones people see', () => {
    speakGerman();
    const prompt = buildRawPrompt(model, [{ role: 'user', text: 'Hallo' }]);
    const lookup = (key: string) => browser.i18n.getMessage(key as never) || undefined;
    for (const category of model.categories) {
      expect(prompt).toContain(`${category.code}: ${category.promptName}`);
      const shown = localizeCategory(model, category, lookup);
      // People see the translated name; the model keeps the template's words.
      expect(shown.promptName).toBe(category.promptName);
      if (shown.name !== category.name) expect(prompt).not.toContain(shown.name);
    }
  });
});

describe.runIf(GERMAN)('the German messages file', () => {
  it('translates the category names the prompt keeps in English', () => {
    const de = localeMessages('de');
    const model = getGuardModel('llama-guard-4-12b');
    const translated = model.categories.filter((c) => {
      const key = categoryMessageKeys(categoryFamily(model), c.code).name;
      return de[key] && de[key]!.message !== c.name;
    });
    expect(translated.length).toBeGreaterThan(model.categories.length / 2);
  });
});
