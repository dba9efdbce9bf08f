/**
 * The options page in real Chromium: first-run note, provider presets, Test connection against the local test
 * server (success, wrong key, wrong model, Ollama refusing the extension's origin, unreachable), saving, the
 * category policy and custom categories, site lists, the history (table, CSV and JSON export, clear), settings
 * import, keyboard focus, axe-core in light and dark, screenshots; and, with a managed policy, locked fields.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportSettings } from '../../../lib/settings/io';
import { defaultSettings } from '../../../lib/settings/schema';
import { type GuardServer, startGuardServer } from '../../server/guard-server';
import { type GuardlensBrowser, launchBrowser, type PageHandle, requireBuild, waitFor } from '../harness';
import { describeViolations, explain, fitsWidth, rawPage, screenshot, seriousViolations } from './support';

type Stored = { settings?: Record<string, unknown>; apiKey?: string };

async function stored(gl: GuardlensBrowser): Promise<Stored> {
  return gl.extensionEval(() => browser.storage.local.get(['settings', 'apiKey']));
}

async function openOptions(
  gl: GuardlensBrowser,
  colorScheme: 'light' | 'dark' = 'light',
): Promise<PageHandle> {
  const page = await gl.openExtensionPage('/options.html');
  const raw = rawPage(page);
  await raw.setViewportSize({ width: 1100, height: 900 });
  await raw.emulateMedia({ colorScheme });
  await raw.locator('#endpoint').waitFor();
  return page;
}

describe('options page (chromium)', () => {
  let guard: GuardServer;
  let strict: GuardServer;
  let picky: GuardServer;
  let ollama: GuardServer;
  let gl: GuardlensBrowser;
  let page: PageHandle;

  const raw = () => rawPage(page);
  const useEndpoint = async (provider: string, baseUrl: string, model: string, key: string) => {
    await raw().locator('#provider').selectOption(provider);
    await raw().locator('#baseUrl').fill(baseUrl);
    await raw().locator('#model').fill(model);
    await raw().locator('#apiKey').fill(key);
  };
  const testConnection = async () => {
    await raw().getByRole('button', { name: 'Test connection' }).click();
    const result = raw().locator('[data-test-result]');
    await result.waitFor({ timeout: 30_000 });
    return result;
  };

  beforeAll(async () => {
    requireBuild('chromium');
    [guard, strict, picky, ollama] = await Promise.all([
      startGuardServer(),
      startGuardServer({ apiKey: 'the-right-key' }),
      startGuardServer({ models: ['only-this-model'] }),
      startGuardServer({ refuseExtensionOrigins: true }),
    ]);
    gl = await launchBrowser('chromium');
    page = await openOptions(gl);
  });

  afterAll(async () => {
    await page?.close().catch(() => undefined);
    await gl?.close();
    await Promise.all([guard?.close(), strict?.close(), picky?.close(), ollama?.close()]);
  });

  it('first run: a setup note, every section, no serious axe violations, no sideways scrolling', async () => {
    expect(await raw().locator('#setup-note').textContent()).toContain('OpenRouter needs an API key');
    const headings = await raw().locator('section.gl-card > h2').allTextContents();
    expect(headings).toEqual([
      'Endpoint',
      'What to do with each category',
      'Prompt guard',
      'Page scanning',
      'Privacy',
      'Budget',
      'History',
      'Import and export',
    ]);
    // Every form control has a label (axe checks it too).
    const unlabelled = await raw().evaluate(() =>
      [...document.querySelectorAll('input, select, textarea')]
        .filter((el) => {
          const c = el as HTMLInputElement;
          return !(c.labels?.length || c.getAttribute('aria-label') || c.getAttribute('aria-labelledby'));
        })
        .map((el) => el.id || el.outerHTML.slice(0, 80)),
    );
    expect(unlabelled).toEqual([]);
    expect((await raw().locator('#apiKey').getAttribute('type')) ?? '').toBe('password');
    const violations = await seriousViolations(page);
    expect(violations, describeViolations(violations)).toEqual([]);
    const width = await fitsWidth(page);
    expect(width.scrollWidth).toBeLessThanOrEqual(width.clientWidth);
    await screenshot(page, 'options');
  });

  it('a provider preset fills the base URL and its model choices; the key is masked until shown', async () => {
    await raw().locator('#provider').selectOption('together');
    expect(await raw().locator('#baseUrl').inputValue()).toBe('https://api.together.xyz/v1');
    expect(await raw().locator('#guardModel option').allTextContents()).toHaveLength(5);
    expect(await raw().locator('#model').inputValue()).toBe('meta-llama/Llama-Guard-4-12B');
    expect(await raw().locator('#model-choices option').count()).toBe(5);

    await raw().locator('#provider').selectOption('groq');
    expect(await raw().locator('#baseUrl').inputValue()).toBe('https://api.groq.com/openai/v1');
    expect(await raw().locator('#requestMode option[value=raw]').isDisabled()).toBe(true);
    expect(await raw().locator('#requestMode-hint').textContent()).toBe('Groq takes chat requests only.');

    await raw().locator('#apiKey').fill('sk-secret');
    await raw().getByRole('button', { name: 'Show' }).click();
    expect(await raw().locator('#apiKey').getAttribute('type')).toBe('text');
    expect(await raw().locator('#apiKey').inputValue()).toBe('sk-secret');
    await raw().getByRole('button', { name: 'Hide' }).click();
    expect(await raw().locator('#apiKey').getAttribute('type')).toBe('password');
    expect(await raw().locator('.gl-savebar-state').textContent()).toBe('You have unsaved changes.');
    await raw().getByRole('button', { name: 'Discard changes' }).click();
    expect(await raw().locator('#provider').inputValue()).toBe('openrouter');
  });

  it('Test connection makes a real request and shows the verdict and latency', async () => {
    guard.reset();
    await useEndpoint('custom', guard.baseUrl, 'llama-guard-test', 'test-key');
    const result = await testConnection();
    expect(await result.getAttribute('data-test-result')).toBe('ok');
    expect(await result.textContent()).toMatch(
      /^Connected\.The model answered “safe” in \d[\d,]* ms\.Tokens: \d+ in, 1 out\.$/,
    );
    expect(guard.requests.at(-1)?.headers.authorization).toBe('Bearer test-key');
    expect(guard.requests.at(-1)?.model).toBe('llama-guard-test');
    const violations = await seriousViolations(page);
    expect(violations, describeViolations(violations)).toEqual([]);
    await screenshot(page, 'options-endpoint', '#endpoint');
  });

  it('Test connection explains a wrong key, a wrong model, Ollama refusing the extension, and no server', async () => {
    await useEndpoint('custom', strict.baseUrl, 'llama-guard-test', 'a-wrong-key');
    let result = await testConnection();
    expect(await result.getAttribute('data-kind')).toBe('auth');
    expect(await result.textContent()).toContain('The endpoint refused the API key');
    expect(await result.textContent()).toContain('(HTTP 401)');
    expect(await result.textContent()).toContain('API key');
    await screenshot(page, 'options-test-error', '#endpoint');

    await useEndpoint('custom', picky.baseUrl, 'not-this-model', '');
    result = await testConnection();
    expect(await result.getAttribute('data-kind')).toBe('model-not-found');
    expect(await result.textContent()).toContain('The endpoint does not know this model');

    await raw().locator('#provider').selectOption('ollama');
    await raw().locator('#baseUrl').fill(ollama.baseUrl);
    result = await testConnection();
    expect(await result.getAttribute('data-kind')).toBe('cors');
    expect(await result.textContent()).toContain('OLLAMA_ORIGINS');

    await useEndpoint('custom', 'http://127.0.0.1:9/v1', 'llama-guard-test', '');
    result = await testConnection();
    expect(await result.getAttribute('data-kind')).toBe('unreachable');
    expect(await result.textContent()).toContain('How to fix it:');
  });

  it('saves the endpoint, the category policy and custom categories where the mode and model take them', async () => {
    await useEndpoint('custom', guard.baseUrl, 'llama-guard-test', 'test-key');
    await raw().locator('#guardModel').selectOption('llama-guard-3-8b');

    // Categories of the chosen model: S1 off, S2 hidden.
    expect(await raw().locator('.gl-policy-table tbody tr').count()).toBe(14);
    await raw().getByRole('checkbox', { name: 'Act on S1 Violent Crimes' }).uncheck();
    expect(await raw().locator('#cat-S1-action').isDisabled()).toBe(true);
    await raw().locator('#cat-S2-action').selectOption('hide');

    // Custom categories: a note says why they do not apply, in chat mode and with Llama Guard 3 8B.
    expect(await raw().locator('#custom-note').textContent()).toContain('raw mode');
    expect(await raw().getByRole('button', { name: 'Add a category' }).isDisabled()).toBe(true);
    await raw().locator('#requestMode').selectOption('raw');
    expect(await raw().locator('#custom-note').textContent()).toContain('does not accept custom categories');
    await raw().locator('#guardModel').selectOption('llama-guard-4-12b');
    expect(await raw().locator('#custom-note').count()).toBe(0);
    await raw().getByRole('button', { name: 'Add a category' }).click();
    await raw().getByLabel('Name of S15').fill('Gambling');
    await raw().getByLabel('Description of S15').fill('Betting and casino offers.');
    await raw().locator('#cat-S15-action').selectOption('label');

    await raw().getByRole('button', { name: 'Save', exact: true }).click();
    await raw().locator('.gl-savebar-state', { hasText: 'Saved.' }).waitFor();
    const { settings, apiKey } = await stored(gl);
    expect(apiKey).toBe('test-key');
    expect(settings).toMatchObject({
      provider: 'custom',
      baseUrl: guard.baseUrl,
      model: 'llama-guard-test',
      guardModel: 'llama-guard-4-12b',
      requestMode: 'raw',
      categoryActions: { S1: 'ignore', S2: 'hide', S15: 'label' },
      customCategories: [{ code: 'S15', name: 'Gambling', description: 'Betting and casino offers.' }],
    });
    expect(await raw().locator('#setup-note').count()).toBe(0);
    await screenshot(page, 'options-policy', '#policy');
  });

  it('edits site lists, shows lines that are not sites, and refuses an invalid number', async () => {
    const excluded = raw().locator('#excludedSites');
    await excluded.fill('bank.example\n*.health.example\nnot a site/\nhttps://mail.example/inbox');
    expect(await raw().locator('#excludedSites-problems').textContent()).toContain('not a site/');
    await raw().locator('#chunkTokens').fill('50');
    expect(await raw().locator('#chunkTokens-invalid').textContent()).toBe(
      'Enter a number from 200 to 100,000.',
    );
    await raw().locator('#chunkTokens').fill('1500');
    await raw().getByLabel('Check pages only when I ask').check();
    // The prompt guard's chatbot sites: every known site, each with its hosts; one turned off.
    const sites = raw().locator('#prompt-guard .gl-checklist li');
    expect(await sites.count()).toBeGreaterThanOrEqual(10);
    expect(await raw().locator('#prompt-guard').textContent()).toContain('chatgpt.com');
    await raw().getByRole('checkbox', { name: 'ChatGPT' }).uncheck();
    await raw().getByRole('button', { name: 'Save', exact: true }).click();
    await raw().locator('.gl-savebar-state', { hasText: 'Saved.' }).waitFor();
    const { settings } = await stored(gl);
    expect(settings).toMatchObject({
      excludedSites: ['bank.example', '*.health.example', 'mail.example'],
      chunkTokens: 1500,
      scanOnDemand: true,
      chatbotSites: { chatgpt: false },
    });
  });

  it('shows the history, exports it as CSV and JSON, and clears it', async () => {
    const at = Date.UTC(2026, 0, 2, 3, 4, 5);
    await gl.extensionEval(
      (entries) => browser.storage.local.set({ history: entries }),
      [
        {
          at,
          site: 'news.example',
          url: 'https://news.example/a',
          kind: 'text',
          categories: ['S1', 'S10'],
          names: ['Violent Crimes', 'Hate'],
          snippet: '=1+1 <b>not bold</b>',
          key: 'k1',
        },
        {
          at: at + 1000,
          site: 'blog.example',
          url: 'https://blog.example/b',
          kind: 'image',
          categories: ['S12'],
          names: ['Sexual Content'],
          snippet: 'a photo',
          key: 'k2',
        },
      ],
    );
    const table = raw().locator('.gl-history-table');
    await table.waitFor();
    const rows = table.locator('tbody tr');
    expect(await rows.count()).toBe(2);
    expect(await rows.first().textContent()).toContain('blog.example');
    expect(await rows.nth(1).locator('.gl-snippet-cell').textContent()).toBe('=1+1 <b>not bold</b>');
    expect(await table.locator('b').count()).toBe(0);

    const csvDownload = raw().waitForEvent('download');
    await raw().getByRole('button', { name: 'Export CSV' }).click();
    const csv = await readFile((await (await csvDownload).path())!, 'utf8');
    expect(csv.split('\r\n')[0]).toBe('time,site,url,kind,categories,names,snippet');
    expect(csv).toContain(
      "2026-01-02T03:04:05.000Z,news.example,https://news.example/a,text,S1 S10,Violent Crimes; Hate,'=1+1 <b>not bold</b>",
    );

    const jsonDownload = raw().waitForEvent('download');
    await raw().getByRole('button', { name: 'Export JSON' }).click();
    const json = JSON.parse(await readFile((await (await jsonDownload).path())!, 'utf8'));
    expect(json.format).toBe('guardlens-history');
    expect(json.entries).toHaveLength(2);

    await screenshot(page, 'options-history', '#history');
    await raw().getByRole('button', { name: 'Clear history' }).click();
    await raw().getByRole('button', { name: 'Delete all 2 entries' }).click();
    await raw().locator('#history-empty').waitFor();
    const left = await gl.extensionEval(() => browser.storage.local.get('history'));
    expect(left.history).toEqual([]);

    await raw().getByLabel('Keep a history of flagged items').uncheck();
    await raw().getByRole('button', { name: 'Save', exact: true }).click();
    await raw().locator('.gl-savebar-state', { hasText: 'Saved.' }).waitFor();
    expect((await stored(gl)).settings?.historyEnabled).toBe(false);
  });

  it('imports a settings file and says what was wrong with a bad one', async () => {
    const file = exportSettings({
      ...defaultSettings(),
      provider: 'custom',
      baseUrl: guard.baseUrl,
      model: 'm-2',
      scanImages: false,
    });
    await raw()
      .locator('#importFile')
      .setInputFiles({ name: 'settings.json', mimeType: 'application/json', buffer: Buffer.from(file) });
    const outcome = raw().locator('[data-import]');
    await outcome.waitFor();
    expect(await outcome.getAttribute('data-import')).toBe('ok');
    expect(await outcome.textContent()).toMatch(/Imported \d+ settings\./);
    await waitFor(async () => (await stored(gl)).settings?.model === 'm-2', {
      message: 'the imported settings',
    });
    // The form follows the saved settings (storage.onChanged), which can come a moment after the write.
    await waitFor(async () => (await raw().locator('#model').inputValue()) === 'm-2', {
      message: 'the form to show the imported model',
    });
    expect(await raw().locator('#scanImages').isChecked()).toBe(false);

    await raw()
      .locator('#importFile')
      .setInputFiles({
        name: 'bad.json',
        mimeType: 'application/json',
        buffer: Buffer.from('{"format":"something-else"}'),
      });
    await raw().locator('[data-import=failed]').waitFor();
    expect(await raw().locator('[data-import]').textContent()).toContain('not a Guardlens settings export');
  });

  it('works by keyboard with a visible focus ring, and in the dark theme', async () => {
    await raw().locator('.gl-nav a').first().focus();
    const rings: string[] = [];
    for (let i = 0; i < 12; i++) {
      await raw().keyboard.press('Tab');
      rings.push(
        await raw().evaluate(() => {
          const el = document.activeElement as HTMLElement;
          const style = getComputedStyle(el);
          return `${el.tagName}#${el.id}:${style.outlineStyle}:${style.outlineWidth}`;
        }),
      );
    }
    for (const ring of rings) expect(ring).toMatch(/:solid:3px$/);

    const dark = await openOptions(gl, 'dark');
    try {
      const violations = await seriousViolations(dark);
      expect(violations, describeViolations(violations)).toEqual([]);
      await screenshot(dark, 'options-dark', '#endpoint');
    } finally {
      await dark.close();
    }
  });

  it('reached for nothing but loopback', () => {
    expect(gl.unexpectedBlocked()).toEqual([]);
  });
});

describe('options page with a locking managed policy (chromium)', () => {
  let gl: GuardlensBrowser;

  beforeAll(async () => {
    requireBuild('chromium');
    gl = await launchBrowser('chromium', {
      policy: {
        provider: 'custom',
        baseUrl: 'http://127.0.0.1:9/v1',
        model: 'org-guard',
        apiKey: 'org-key',
        promptGuard: 'block',
        excludedSites: ['intranet.example'],
        lockSettings: true,
      },
    });
  });

  afterAll(async () => {
    await gl?.close();
  });

  it('shows the policy’s fields as locked, with the reason, and keeps them on save', async () => {
    const page = await openOptions(gl);
    try {
      const raw = rawPage(page);
      await explain(gl, undefined, () => raw.locator('#provider-policy').waitFor({ timeout: 15_000 }));
      expect(await raw.locator('#provider').isDisabled()).toBe(true);
      expect(await raw.locator('#provider-policy').textContent()).toContain(
        'Locked: set by your organisation’s policy.',
      );
      expect(await raw.locator('#apiKey').isDisabled()).toBe(true);
      expect(await raw.locator('#excludedSites').isDisabled()).toBe(true);
      expect(await raw.locator('#excludedSites').inputValue()).toBe('intranet.example');
      expect(await raw.locator('#promptGuard').isDisabled()).toBe(true);
      expect(await raw.locator('#scanImages').isDisabled()).toBe(false);
      expect(await raw.locator('#provider').getAttribute('aria-describedby')).toContain('provider-policy');
      const violations = await seriousViolations(page);
      expect(violations, describeViolations(violations)).toEqual([]);
      await screenshot(page, 'options-locked', '#endpoint');

      await raw.getByLabel('Check images').uncheck();
      await raw.getByRole('button', { name: 'Save', exact: true }).click();
      await raw.locator('.gl-savebar-state', { hasText: 'Saved.' }).waitFor();
      const { settings } = await stored(gl);
      expect(settings).toMatchObject({ scanImages: false });
      expect(settings?.model).not.toBe('org-guard');
    } finally {
      await page.close();
    }
  });
});
