/**
 * A managed policy configures and locks Guardlens, in Chromium (`/etc/chromium/policies/managed/`) and Firefox
 * (`distribution/policies.json`): with no click from the person, a page is scanned through the policy's endpoint
 * with the policy's key; the options page shows the locked fields disabled with the lock note; and settings
 * written to storage behind the options page's back change nothing in force.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuardServer, startGuardServer } from '../../server/guard-server';
import {
  BROWSER_NAMES,
  type GuardlensBrowser,
  launchBrowser,
  requireBuild,
  type StaticServer,
  startStaticServer,
} from '../harness';
import { pageHtml, paragraphs, runTag } from './pages';

const POLICY_KEY = 'gl-e2e-policy-key-93c2a61f';
const POLICY_MODEL = 'llama-guard-policy-model';
/** The lock note's wording belongs to the options page; it names the organisation's policy. */
const LOCK_NOTE = /organisation.s policy/i;

describe.each(BROWSER_NAMES)('managed policy: %s', (name) => {
  let guard: GuardServer;
  let site: StaticServer;
  let gl: GuardlensBrowser;

  beforeAll(async () => {
    requireBuild(name);
    // The server refuses any other key, so a scan that works used the policy's.
    guard = await startGuardServer({ apiKey: POLICY_KEY, preloadTokenizer: true });
    site = await startStaticServer({ root: null });
    gl = await launchBrowser(name, {
      policy: {
        provider: 'custom',
        baseUrl: guard.baseUrl,
        model: POLICY_MODEL,
        guardModel: 'llama-guard-3-8b',
        requestMode: 'chat',
        apiKey: POLICY_KEY,
        lockSettings: true,
      },
    });
  });

  afterAll(async () => {
    await gl?.close();
    await site?.close();
    await guard?.close();
  });

  /** Opens a page with one flagged paragraph among four and waits until its verdicts are in. */
  async function scanPage(path: string) {
    const paras = paragraphs(runTag('policy'), 4, 20, { 2: 'GLTEST-S2' });
    site.route(path, { body: pageHtml(path, paras), contentType: 'text/html; charset=utf-8' });
    const page = await gl.openPage(site.url(path));
    try {
      const tabId = await page.tabId();
      const state = await gl.waitForTabState(
        tabId,
        (s) => s.scanned === 4 && s.pending === 0 && s.flagged.length === 1,
        { timeoutMs: 30_000 },
      );
      expect(state.flagged[0].categories).toEqual(['S2']);
      await page.waitForFunction(() => document.getElementById('p03')?.dataset.guardlens === 'flagged');
    } finally {
      await page.close();
    }
  }

  it('configures the extension with no click: a page is scanned through its endpoint, with its key and model', async () => {
    // Nothing was configured by the test: the settings in storage.local are whatever the extension wrote.
    const local = await gl.extensionEval(() => browser.storage.local.get(['apiKey']));
    expect(local.apiKey ?? '').toBe('');
    guard.reset();
    await scanPage('/policy-first.html');
    const posts = guard.requests.filter((r) => r.method === 'POST');
    expect(posts.length).toBeGreaterThan(0);
    for (const r of posts) {
      expect(r.headers.authorization).toBe(`Bearer ${POLICY_KEY}`);
      expect(r.model).toBe(POLICY_MODEL);
      expect(r.status).toBe(200);
    }
    // The policy's key is used, not copied anywhere a page or the session could see it.
    const session = await gl.extensionEval(() => browser.storage.session.get(null));
    expect(JSON.stringify(session)).not.toContain(POLICY_KEY);
  });

  it('shows the locked fields disabled, with the lock note, on the options page', async () => {
    const options = await gl.openExtensionPage('/options.html');
    try {
      const fields = await options.waitForFunction(
        () => {
          const ids = ['provider', 'baseUrl', 'apiKey', 'guardModel', 'model', 'requestMode'];
          const found = ids.map((id) => document.getElementById(id) as HTMLInputElement | null);
          if (found.some((el) => !el)) return null;
          return found.map((el) => {
            // The lock note next to the field: the nearest `.gl-locked` within a few levels up.
            let note: Element | null = null;
            for (let up: Element | null = el!.parentElement, i = 0; up && !note && i < 3; i++) {
              note = up.querySelector('.gl-locked');
              up = up.parentElement;
            }
            return { id: el!.id, disabled: el!.disabled, value: el!.value, note: note?.textContent ?? '' };
          });
        },
        { timeoutMs: 15_000 },
      );
      if (!fields) throw new Error('The options page shows no endpoint fields.');
      for (const field of fields) {
        expect(field.disabled, `${field.id} disabled`).toBe(true);
        expect(field.note, `${field.id} lock note`).toMatch(LOCK_NOTE);
      }
      expect(fields.find((f) => f.id === 'baseUrl')!.value).toBe(guard.baseUrl);
      expect(fields.find((f) => f.id === 'model')!.value).toBe(POLICY_MODEL);
    } finally {
      await options.close();
    }
  });

  it('keeps the locked settings in force when other settings and another key are written to storage', async () => {
    await gl.configure(
      {
        provider: 'custom',
        baseUrl: 'http://127.0.0.1:9/v1',
        model: 'someone-else',
        guardModel: 'llama-guard-4-12b',
        requestMode: 'raw',
      },
      'gl-e2e-person-key',
    );
    guard.reset();
    await scanPage('/policy-after-write.html');
    const posts = guard.requests.filter((r) => r.method === 'POST');
    expect(posts.length).toBeGreaterThan(0);
    for (const r of posts) {
      expect(r.headers.authorization).toBe(`Bearer ${POLICY_KEY}`);
      expect(r.model).toBe(POLICY_MODEL);
      expect(r.path).toBe('/v1/chat/completions');
    }
    // The options page still shows the policy's values.
    const options = await gl.openExtensionPage('/options.html');
    try {
      const baseUrl = await options.waitForFunction(
        () => (document.getElementById('baseUrl') as HTMLInputElement | null)?.value,
        { timeoutMs: 15_000 },
      );
      expect(baseUrl).toBe(guard.baseUrl);
    } finally {
      await options.close();
    }
  });

  it('reached for nothing but loopback', () => {
    expect(gl.unexpectedBlocked()).toEqual([]);
  });
});
