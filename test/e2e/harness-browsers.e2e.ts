/**
 * The harness in real browsers: loopback goes direct and everything else is blocked and counted, page
 * handles drive ordinary and extension pages, tab ids and tab state are read through the extension, a
 * managed policy reaches `storage.managed` and is removed on close, and (Chromium) the service worker can
 * be stopped and started through the DevTools protocol.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BROWSER_NAMES,
  CHROMIUM_POLICY_FILE,
  FIREFOX_POLICY_FILE,
  type GuardlensBrowser,
  launchBrowser,
  requireBuild,
  type StaticServer,
  startStaticServer,
} from './harness';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const POLICY = { promptGuard: 'warn', excludedSites: ['excluded.invalid'] };
const isRoot = process.getuid?.() === 0;

describe.each(BROWSER_NAMES)('harness: %s', (name) => {
  let site: StaticServer;
  let gl: GuardlensBrowser;
  const policyFile = name === 'chromium' ? CHROMIUM_POLICY_FILE : FIREFOX_POLICY_FILE;

  beforeAll(async () => {
    requireBuild(name);
    site = await startStaticServer();
    // Policies are system files: only root can write them.
    gl = await launchBrowser(name, isRoot ? { policy: POLICY } : {});
  });

  afterAll(async () => {
    await gl?.close();
    await site?.close();
  });

  it('exposes the fixed extension origin', () => {
    expect(gl.extensionOrigin).toBe(
      name === 'chromium'
        ? 'chrome-extension://pmmobbhmpddpcfiehnfikpngpoikbilp'
        : 'moz-extension://7c1f4a52-3d9e-4b0a-8e61-2f5d9c0b7a14',
    );
    expect(gl.extensionId).toBe(
      name === 'chromium' ? 'pmmobbhmpddpcfiehnfikpngpoikbilp' : 'guardlens@guardlens.dev',
    );
  });

  it('sends loopback directly: pages on 127.0.0.1 and localhost load without touching the blocker', async () => {
    const before = gl.blocked.length;
    const direct = await gl.openPage(site.url('/network.html'));
    const named = await gl.openPage(`http://localhost:${site.port}/network.html`);
    try {
      expect(await direct.evaluate(() => document.getElementById('ready')?.textContent)).toContain(
        'loopback',
      );
      expect(await named.evaluate(() => document.getElementById('ready')?.textContent)).toContain('loopback');
      expect(site.requests.filter((r) => r.path === '/network.html').length).toBeGreaterThanOrEqual(2);
      expect(gl.blocked.slice(before).filter((r) => LOOPBACK_HOSTS.has(r.host))).toEqual([]);
    } finally {
      await direct.close();
      await named.close();
    }
  });

  it('blocks and counts plain HTTP, TLS and WebSocket attempts to other hosts', async () => {
    const page = await gl.openPage(site.url('/network.html'));
    try {
      const outcome = await page.evaluate(async () => {
        const attempt = (url: string) =>
          fetch(url).then(
            (r) => `status ${r.status}`,
            () => 'failed',
          );
        const ws = await new Promise<string>((resolve) => {
          const socket = new WebSocket('ws://blocked-ws.invalid/socket');
          socket.onopen = () => resolve('open');
          socket.onerror = () => resolve('failed');
        });
        return {
          plain: await attempt('http://blocked-plain.invalid/probe?x=1'),
          tls: await attempt('https://blocked-tls.invalid/probe'),
          ws,
        };
      });
      expect(outcome).toEqual({ plain: 'failed', tls: 'failed', ws: 'failed' });

      const plain = await gl.waitForBlocked((r) => r.host === 'blocked-plain.invalid');
      expect(plain).toMatchObject({
        method: 'GET',
        port: 80,
        url: 'http://blocked-plain.invalid/probe?x=1',
        origin: site.origin,
      });
      expect(await gl.waitForBlocked((r) => r.host === 'blocked-tls.invalid')).toMatchObject({
        method: 'CONNECT',
        port: 443,
      });
      await gl.waitForBlocked((r) => r.host === 'blocked-ws.invalid');
      expect(gl.unexpectedBlocked().map((r) => r.host)).toEqual(
        expect.arrayContaining(['blocked-plain.invalid', 'blocked-tls.invalid', 'blocked-ws.invalid']),
      );
    } finally {
      await page.close();
    }
  });

  it("attributes an extension page's POST to the extension origin", async () => {
    // A POST, as endpoint calls are: Chromium sends no Origin header on an extension's GET.
    const result = await gl.extensionEval(() =>
      fetch('http://blocked-from-extension.invalid/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      }).then(
        (r) => r.status,
        () => 'failed',
      ),
    );
    expect(result === 'failed' || result === 403).toBe(true);
    const entry = await gl.waitForBlocked((r) => r.host === 'blocked-from-extension.invalid');
    expect(entry.origin).toBe(gl.extensionOrigin);
  });

  it('drives an ordinary page: type, press, click, console, screenshot, url and tab id', async () => {
    const url = site.url('/network.html?drive=1');
    const page = await gl.openPage(url);
    try {
      expect(await page.url()).toBe(url);
      await page.type('#field', 'abc');
      await page.press('Enter');
      expect(await page.waitForFunction(() => document.getElementById('out')?.textContent)).toBe('enter:abc');
      await page.click('#button');
      expect(
        await page.waitForFunction(
          () =>
            document.getElementById('out')?.textContent?.startsWith('clicked') &&
            document.getElementById('out')?.textContent,
        ),
      ).toBe('clicked:abc');
      await page.click('#field');
      await page.press('Control+A');
      await page.press('Backspace');
      expect(await page.evaluate(() => (document.getElementById('field') as HTMLInputElement).value)).toBe(
        '',
      );

      await page.evaluate(() => console.warn('guardlens-console-probe'));
      await expect
        .poll(() => gl.consoleLog.find((e) => e.text === 'guardlens-console-probe'))
        .toMatchObject({ type: expect.stringMatching(/^warn/) });

      const png = await page.screenshot();
      expect([...png.slice(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);

      const tabId = await page.tabId();
      expect(tabId).toBeGreaterThan(0);
      expect(await gl.tabIdOf(url)).toBe(tabId);
      await page.goto(site.url('/smoke.html'));
      expect(await page.url()).toBe(site.url('/smoke.html'));
      expect(await gl.tabIdOf(site.url('/smoke.html'))).toBe(tabId);
    } finally {
      await page.close();
    }
  });

  it('drives an extension page', async () => {
    const page = await gl.openExtensionPage('/popup.html?tabId=1');
    try {
      expect(await page.url()).toBe(`${gl.extensionOrigin}/popup.html?tabId=1`);
      expect(await page.evaluate(() => browser.runtime.getURL('/'))).toBe(`${gl.extensionOrigin}/`);
      // A small form of our own, appended beside the popup's UI, so the check does not depend on it.
      await page.evaluate(() => {
        const box = document.createElement('div');
        box.innerHTML = '<input id="gl-field"><button id="gl-button">ok</button><span id="gl-out"></span>';
        document.body.append(box);
        document.getElementById('gl-button')!.addEventListener('click', () => {
          document.getElementById('gl-out')!.textContent = (
            document.getElementById('gl-field') as HTMLInputElement
          ).value;
        });
      });
      await page.type('#gl-field', 'typed');
      await page.click('#gl-button');
      expect(await page.waitForFunction(() => document.getElementById('gl-out')?.textContent)).toBe('typed');
      expect(await page.tabId()).toBeGreaterThan(0);
    } finally {
      await page.close();
    }
  });

  it('reads tab state from storage.session and configures storage.local', async () => {
    const tabId = 987_654_321;
    expect(await gl.tabState(tabId)).toBeUndefined();
    const state = {
      url: 'http://example.invalid/',
      flagged: [{ ref: 'r1', categories: ['S9'], snippet: 'x' }],
    };
    await gl.extensionEval(
      (key: string, value: unknown) => browser.storage.session.set({ [key]: value }),
      `tab:${tabId}`,
      state,
    );
    expect(await gl.tabState(tabId)).toEqual(state);
    expect(await gl.waitForTabState(tabId, (s) => s.flagged.length === 1, { timeoutMs: 1000 })).toEqual(
      state,
    );
    await gl.extensionEval((key: string) => browser.storage.session.remove(key), `tab:${tabId}`);
    await expect(gl.waitForTabState(tabId, () => true, { timeoutMs: 300 })).rejects.toThrow(/Timed out/);

    await gl.configure({ provider: 'custom' });
    expect(await gl.extensionEval(() => browser.storage.local.get('settings'))).toEqual({
      settings: { provider: 'custom' },
    });
  });

  it.runIf(isRoot)('gives the extension its managed policy while running', async () => {
    expect(existsSync(policyFile)).toBe(true);
    expect(await gl.extensionEval(() => browser.storage.managed.get())).toEqual(POLICY);
  });

  it.runIf(name === 'chromium')(
    'stops and restarts the service worker through the DevTools protocol',
    async () => {
      const controls = gl.chromium!;
      const worker = await controls.serviceWorker();
      expect(worker.url()).toBe(`${gl.extensionOrigin}/background.js`);
      await controls.stopServiceWorker();
      expect(controls.serviceWorkerStatus()).toBe('stopped');
      const targets = await controls.browserCdp<{ targetInfos: Array<{ type: string; url: string }> }>(
        'Target.getTargets',
      );
      expect(
        targets.targetInfos.some((t) => t.type === 'service_worker' && t.url.startsWith(gl.extensionOrigin)),
      ).toBe(false);
      await controls.cdp('ServiceWorker.startWorker', { scopeURL: `${gl.extensionOrigin}/` });
      await expect.poll(() => controls.serviceWorkerStatus(), { timeout: 10_000 }).toBe('running');
    },
  );

  it('removes its profile, proxy and policy file on close', async () => {
    await gl.close();
    expect(existsSync(policyFile)).toBe(false);
    const ownProfiles = readdirSync(os.tmpdir()).filter((entry) => {
      if (!entry.startsWith(`guardlens-e2e-${name}-`)) return false;
      const owner = path.join(os.tmpdir(), entry, '.guardlens-owner');
      return existsSync(owner) && readFileSync(owner, 'utf8') === String(process.pid);
    });
    expect(ownProfiles).toEqual([]);
    await gl.close(); // idempotent
  });
});
