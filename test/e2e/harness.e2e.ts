/**
 * The harness's Node-side parts, without a browser: the network blocker, the static server, the policy
 * files, the extension id, page-function serialisation and the noise filter.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BlockingProxy, startBlockingProxy } from './harness/blocking-proxy';
import { CHROMIUM_EXTENSION_ID, chromiumExtensionIdFromKey } from './harness/chromium';
import { type BrowserParts, createGuardlensBrowser, splitChord } from './harness/common';
import { isBrowserNoise, withoutNoise } from './harness/noise';
import {
  CHROMIUM_POLICY_DIR,
  CHROMIUM_POLICY_FILE,
  chromiumPolicyFile,
  claimPolicy,
  FIREFOX_POLICY_FILE,
  FIREFOX_POLICY_MARKER,
  readPolicyFile,
  removeChromiumPolicy,
  removeFirefoxPolicy,
  sweepChromiumPolicies,
  sweepFirefoxPolicy,
  writeChromiumPolicy,
  writeFirefoxPolicy,
} from './harness/policy';
import { resolveInside, type StaticServer, startStaticServer } from './harness/static-server';
import {
  BuildMissingError,
  makeTempDir,
  missingBuildFiles,
  pageExpression,
  processesUsingProfile,
  REPO_ROOT,
  requireBuild,
  snapshotBuild,
  sweepStaleTempDirs,
  waitFor,
} from './harness/util';

/** Sends one request through the proxy as a browser would (absolute URL in the request line). */
function viaProxy(proxy: BlockingProxy, url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: proxy.port, method: 'GET', path: url, headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function connectViaProxy(proxy: BlockingProxy, authority: string) {
  return new Promise<string>((resolve, reject) => {
    const socket = net.connect(proxy.port, '127.0.0.1', () => {
      socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\nUser-Agent: harness-test\r\n\r\n`);
    });
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      reply += chunk;
    });
    socket.on('end', () => resolve(reply));
    socket.on('error', reject);
  });
}

describe('network blocker', () => {
  let proxy: BlockingProxy;
  beforeAll(async () => {
    proxy = await startBlockingProxy();
  });
  afterAll(() => proxy.close());

  it('refuses a plain proxied request and records it', async () => {
    const waiting = proxy.waitForBlocked((r) => r.host === 'plain.invalid');
    const res = await viaProxy(proxy, 'http://plain.invalid:8080/a/b?c=d', {
      origin: 'chrome-extension://abc',
      'user-agent': 'ua-test',
    });
    expect(res.status).toBe(403);
    expect(res.body).toContain('Guardlens test network blocker');
    const entry = await waiting;
    expect(entry).toMatchObject({
      host: 'plain.invalid',
      port: 8080,
      url: 'http://plain.invalid:8080/a/b?c=d',
      method: 'GET',
      origin: 'chrome-extension://abc',
      userAgent: 'ua-test',
    });
    expect(typeof entry.at).toBe('number');
  });

  it('refuses a CONNECT tunnel before relaying anything, and records host and port', async () => {
    const reply = await connectViaProxy(proxy, 'tls.invalid:443');
    expect(reply.startsWith('HTTP/1.1 403')).toBe(true);
    expect(proxy.blocked.at(-1)).toMatchObject({ host: 'tls.invalid', port: 443, method: 'CONNECT' });
    expect(proxy.blocked.at(-1)?.url).toBeUndefined();

    await connectViaProxy(proxy, '[2001:db8::1]:8443');
    expect(proxy.blocked.at(-1)).toMatchObject({ host: '2001:db8::1', port: 8443, method: 'CONNECT' });
  });

  it('times out clearly when nothing matching is blocked', async () => {
    await expect(proxy.waitForBlocked((r) => r.host === 'never.invalid', 50)).rejects.toThrow(
      /No matching blocked request within 50 ms/,
    );
  });
});

describe('static server', () => {
  let site: StaticServer;
  let tmp: string;
  beforeAll(async () => {
    site = await startStaticServer();
    tmp = await mkdtemp(path.join(os.tmpdir(), 'guardlens-static-test-'));
    await writeFile(path.join(tmp, 'doc.html'), '<p>mounted</p>');
  });
  afterAll(async () => {
    await site.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('serves test/e2e/pages on 127.0.0.1 with a content type', async () => {
    expect(site.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(site.url('/smoke.html'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toContain('GLTEST-S1');
  });

  it('serves routes (content, file, handler) and mounted directories, and 404s the rest', async () => {
    site.route('/hello.html', { body: '<p>hi</p>' });
    site.route('/teapot', { body: 'short and stout', status: 418, contentType: 'text/plain' });
    site.route('/file.html', { file: path.join(tmp, 'doc.html') });
    site.route('/handler', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method }));
    });
    site.mount('/corpus/', tmp);

    const hello = await fetch(site.url('/hello.html'));
    expect(hello.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await hello.text()).toBe('<p>hi</p>');
    const teapot = await fetch(site.url('/teapot'));
    expect(teapot.status).toBe(418);
    expect(await (await fetch(site.url('/file.html'))).text()).toBe('<p>mounted</p>');
    expect(await (await fetch(site.url('/handler'), { method: 'POST' })).json()).toEqual({ method: 'POST' });
    expect(await (await fetch(site.url('/corpus/doc.html'))).text()).toBe('<p>mounted</p>');
    expect((await fetch(site.url('/corpus/missing.html'))).status).toBe(404);
    expect((await fetch(site.url('/nothing-here'))).status).toBe(404);

    site.unroute('/hello.html');
    expect((await fetch(site.url('/hello.html'))).status).toBe(404);
    expect(site.requests.some((r) => r.path === '/teapot' && r.status === 418)).toBe(true);
  });

  it('never serves files outside the served directory', async () => {
    expect(resolveInside('/srv/pages', '../secret')).toBeUndefined();
    expect(resolveInside('/srv/pages', '%2e%2e/secret')).toBeUndefined();
    expect(resolveInside('/srv/pages', 'a/../../secret')).toBeUndefined();
    expect(resolveInside('/srv/pages', 'a%00b')).toBeUndefined();
    expect(resolveInside('/srv/pages', '%E0%A4%A')).toBeUndefined();
    expect(resolveInside('/srv/pages', 'a/b.html')).toBe('/srv/pages/a/b.html');
    const res = await fetch(`${site.origin}/%2e%2e/%2e%2e/package.json`);
    expect(res.status).toBe(404);
  });

  it('rejects malformed route and mount paths', () => {
    expect(() => site.route('no-slash', { body: '' })).toThrow(TypeError);
    expect(() => site.mount('/no-trailing', tmp)).toThrow(TypeError);
  });
});

describe('extension build and id', () => {
  it("computes Chrome's id from the manifest key", () => {
    const manifest = JSON.parse(
      readFileSync(path.join(REPO_ROOT, '.output/chrome-mv3/manifest.json'), 'utf8'),
    );
    expect(chromiumExtensionIdFromKey(manifest.key)).toBe(CHROMIUM_EXTENSION_ID);
  });

  it('copies a complete build, and waits for one being written', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'guardlens-build-test-'));
    try {
      const source = path.join(dir, 'build');
      mkdirSync(path.join(source, 'content-scripts'), { recursive: true });
      await writeFile(
        path.join(source, 'manifest.json'),
        JSON.stringify({
          background: { service_worker: 'background.js' },
          content_scripts: [{ js: ['content-scripts/content.js'] }],
          action: { default_popup: 'popup.html' },
        }),
      );
      await writeFile(path.join(source, 'background.js'), '');
      await writeFile(path.join(source, 'popup.html'), '');
      expect(missingBuildFiles(source)).toEqual(['content-scripts/content.js']);
      await expect(snapshotBuild('chromium', source, path.join(dir, 'copy1'), 300)).rejects.toThrow(
        /incomplete \(missing content-scripts\/content\.js\)\. Run `npm run build` first/,
      );
      // The build finishes while the harness waits.
      setTimeout(() => void writeFile(path.join(source, 'content-scripts/content.js'), '//'), 200);
      const copy = await snapshotBuild('chromium', source, path.join(dir, 'copy2'), 5000);
      expect(readFileSync(path.join(copy, 'content-scripts/content.js'), 'utf8')).toBe('//');
      expect(missingBuildFiles(copy)).toEqual([]);
      expect(missingBuildFiles(path.join(dir, 'nothing'))).toEqual(['manifest.json']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says to run the build when it is missing', () => {
    expect(() => requireBuild('firefox', '/nonexistent/guardlens-build')).toThrow(BuildMissingError);
    expect(() => requireBuild('firefox', '/nonexistent/guardlens-build')).toThrow(/npm run build/);
    expect(requireBuild('chromium')).toBe(path.join(REPO_ROOT, '.output/chrome-mv3'));
  });
});

describe('policy files', () => {
  const isRoot = process.getuid?.() === 0;
  // Never run over a policies.json someone else put there, nor while another test process holds a policy.
  const foreignFirefoxPolicy = existsSync(FIREFOX_POLICY_FILE) && !existsSync(FIREFOX_POLICY_MARKER);
  const deadPid = () => spawnSync('true').pid!;

  it.runIf(isRoot)(
    "writes this process's Chromium policy and sweeps only those of dead processes",
    async () => {
      const stale = chromiumPolicyFile(deadPid());
      const legacy = path.join(CHROMIUM_POLICY_DIR, 'guardlens-test.json');
      const live = chromiumPolicyFile(process.ppid);
      try {
        await writeChromiumPolicy(CHROMIUM_EXTENSION_ID, { provider: 'custom' });
        expect(CHROMIUM_POLICY_FILE).toBe(chromiumPolicyFile(process.pid));
        expect(readPolicyFile(CHROMIUM_POLICY_FILE)).toEqual({
          '3rdparty': { extensions: { [CHROMIUM_EXTENSION_ID]: { provider: 'custom' } } },
        });
        await writeFile(stale, '{}');
        await writeFile(legacy, '{}');
        await writeFile(live, '{}');
        expect(sweepChromiumPolicies()).toContain(process.ppid);
        expect(existsSync(stale)).toBe(false);
        expect(existsSync(legacy)).toBe(false);
        expect(existsSync(live)).toBe(true);
        expect(existsSync(CHROMIUM_POLICY_FILE)).toBe(true);
        await removeChromiumPolicy();
        expect(existsSync(CHROMIUM_POLICY_FILE)).toBe(false);
      } finally {
        await removeChromiumPolicy();
        await rm(stale, { force: true });
        await rm(legacy, { force: true });
        await rm(live, { force: true });
      }
    },
  );

  it.runIf(isRoot)("waits for another live process's policy, then gives up with a clear error", async () => {
    const other = chromiumPolicyFile(process.ppid);
    try {
      await writeFile(other, '{}');
      await expect(
        claimPolicy('chromium', CHROMIUM_EXTENSION_ID, { provider: 'custom' }, 600),
      ).rejects.toThrow(
        new RegExp(`Another test process \\(pid ${process.ppid}\\) holds a chromium test policy`),
      );
      expect(existsSync(CHROMIUM_POLICY_FILE)).toBe(false);
      setTimeout(() => void rm(other, { force: true }), 300);
      const release = await claimPolicy('chromium', CHROMIUM_EXTENSION_ID, { provider: 'custom' }, 5000);
      expect(existsSync(CHROMIUM_POLICY_FILE)).toBe(true);
      // While this process holds a policy, no second Chromium may start.
      await expect(claimPolicy('chromium', CHROMIUM_EXTENSION_ID, undefined)).rejects.toThrow(
        /already runs a chromium/,
      );
      await release();
      await release();
      expect(existsSync(CHROMIUM_POLICY_FILE)).toBe(false);
    } finally {
      await rm(other, { force: true });
      await removeChromiumPolicy();
    }
  });

  it.runIf(isRoot && !foreignFirefoxPolicy)(
    'writes, removes and sweeps only its own Firefox policies.json',
    async () => {
      const ownerBefore = existsSync(FIREFOX_POLICY_MARKER)
        ? readFileSync(FIREFOX_POLICY_MARKER, 'utf8')
        : undefined;
      if (ownerBefore !== undefined) return; // another test process holds it right now
      try {
        await writeFirefoxPolicy('guardlens@guardlens.dev', { lockSettings: true });
        expect(readPolicyFile(FIREFOX_POLICY_FILE)).toEqual({
          policies: { '3rdparty': { Extensions: { 'guardlens@guardlens.dev': { lockSettings: true } } } },
        });
        expect(readFileSync(FIREFOX_POLICY_MARKER, 'utf8').trim()).toBe(String(process.pid));
        // Our own file is not stale.
        expect(sweepFirefoxPolicy()).toEqual([]);
        expect(existsSync(FIREFOX_POLICY_FILE)).toBe(true);
        // A file whose owner died is.
        await writeFile(FIREFOX_POLICY_MARKER, `${deadPid()}\n`);
        expect(sweepFirefoxPolicy()).toEqual([]);
        expect(existsSync(FIREFOX_POLICY_FILE)).toBe(false);
        expect(existsSync(FIREFOX_POLICY_MARKER)).toBe(false);
      } finally {
        await removeFirefoxPolicy();
      }
    },
  );
});

describe('page functions, waiting, chords and noise', () => {
  it('serialises a function and its arguments into one expression with `browser` in scope', async () => {
    const expr = pageExpression((a: number, b: { c: string }) => `${a}-${b.c}`, [1, { c: 'x' }]);
    // Evaluate it in a fresh context, as a page would (one with neither `browser` nor `chrome`).
    expect(await runInNewContext(expr)).toBe('1-x');
    const sees = pageExpression(() => typeof browser, []);
    expect(await runInNewContext(sees)).toBe('undefined');
    expect(await runInNewContext(pageExpression('6 * 7', []))).toBe(42);
    expect(() => pageExpression('1', [1])).toThrow(TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => pageExpression((x: unknown) => x, [cyclic])).toThrow(/JSON-serialisable/);
  });

  it('waits for a condition and reports the last error on timeout', async () => {
    let calls = 0;
    expect(await waitFor(() => (++calls >= 3 ? 'done' : undefined), { intervalMs: 1 })).toBe('done');
    await expect(
      waitFor(
        () => {
          throw new Error('not yet');
        },
        { timeoutMs: 30, intervalMs: 5, message: 'nothing' },
      ),
    ).rejects.toThrow(/waiting for nothing \(last error: Error: not yet\)/);
  });

  it('ends a wait at its deadline even when a probe never settles (a stuck page evaluation)', async () => {
    const started = Date.now();
    await expect(
      waitFor(() => new Promise<never>(() => {}), { timeoutMs: 50, intervalMs: 5, message: 'a stuck probe' }),
    ).rejects.toThrow(/waiting for a stuck probe \(last error: Error: the last probe did not settle/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('gives a stuck extension-page call up, reopens the page and asks once more (idempotent calls only)', async () => {
    let evaluations = 0;
    let closes = 0;
    const page = {
      evaluate: () => {
        evaluations++;
        // The first evaluation never answers, as a stuck DevTools evaluation would not.
        return evaluations === 1
          ? new Promise(() => {})
          : Promise.resolve([{ id: 7, url: 'http://127.0.0.1/x' }]);
      },
      close: async () => {
        closes++;
      },
    };
    const parts = {
      name: 'chromium',
      extensionOrigin: 'chrome-extension://x',
      extensionId: 'x',
      proxy: { blocked: [], waitForBlocked: async () => undefined },
      consoleLog: [],
      openPage: async () => page,
      openExtensionPage: async () => page,
      evalPage: async () => page,
      shutdown: async () => {},
      evalTimeoutMs: 30,
    } as unknown as BrowserParts;
    const gl = createGuardlensBrowser(parts);
    expect(await gl.tabIdOf('http://127.0.0.1/x', { timeoutMs: 5000 })).toBe(7);
    expect(evaluations).toBe(2);
    expect(closes).toBe(1);
  });

  it('splits key chords', () => {
    expect(splitChord('Enter')).toEqual({ modifiers: [], key: 'Enter' });
    expect(splitChord('Control+Shift+A')).toEqual({ modifiers: ['Control', 'Shift'], key: 'A' });
    expect(splitChord('Control++')).toEqual({ modifiers: ['Control'], key: '+' });
    expect(splitChord('+')).toEqual({ modifiers: [], key: '+' });
  });

  it('tells known browser noise from other blocked requests', () => {
    const at = 0;
    const listAccounts = {
      host: 'accounts.google.com',
      port: 443,
      method: 'CONNECT',
      at,
    };
    const update = {
      host: 'update.googleapis.com',
      port: 80,
      url: 'http://update.googleapis.com/service/update2/json?x=1',
      method: 'POST',
      at,
    };
    const other = {
      host: 'update.googleapis.com',
      port: 80,
      url: 'http://update.googleapis.com/x',
      method: 'GET',
      at,
    };
    const api = { host: 'api.example', port: 443, method: 'CONNECT', at };
    expect(isBrowserNoise(listAccounts, 'chromium')).toBe(true);
    expect(isBrowserNoise(update, 'chromium')).toBe(true);
    expect(isBrowserNoise(other, 'chromium')).toBe(false);
    expect(isBrowserNoise(listAccounts, 'firefox')).toBe(false);
    expect(withoutNoise([listAccounts, update, other, api], 'chromium')).toEqual([other, api]);
  });
});

describe('scripts/ensure-browsers.sh', () => {
  const script = path.join(REPO_ROOT, 'scripts/ensure-browsers.sh');
  const isRoot = process.getuid?.() === 0;
  const run = (env: Record<string, string>, asNobody = false) => {
    const command = asNobody ? 'setpriv' : 'bash';
    const args = asNobody ? ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', script] : [script];
    return spawnSync(command, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  };

  it('is a quiet no-op when both browsers exist', () => {
    const result = run({});
    expect(result.status).toBe(0);
    expect(result.stdout + result.stderr).toBe('');
  });

  it.runIf(isRoot && existsSync('/usr/bin/setpriv'))(
    'tells a non-root user the exact command and fails',
    () => {
      const result = run({ GUARDLENS_FIREFOX: '/nonexistent/firefox-esr' }, true);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('missing firefox-esr');
      expect(result.stderr).toContain('sudo apt-get update && sudo apt-get install -y chromium firefox-esr');
    },
  );

  it.runIf(isRoot)('installs the missing package with apt-get as root', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'guardlens-ensure-test-'));
    try {
      const fakeFirefox = path.join(dir, 'firefox-esr');
      const log = path.join(dir, 'apt.log');
      // A stand-in apt-get that logs its calls and "installs" the browser.
      await writeFile(
        path.join(dir, 'apt-get'),
        `#!/bin/sh\necho "$DEBIAN_FRONTEND $*" >> ${log}\n` +
          `if [ "$1" = install ]; then printf '#!/bin/sh\\n' > ${fakeFirefox}; chmod +x ${fakeFirefox}; fi\n`,
      );
      chmodSync(path.join(dir, 'apt-get'), 0o755);
      const result = run({ GUARDLENS_FIREFOX: fakeFirefox, PATH: `${dir}:${process.env.PATH}` });
      expect(result.stderr).toContain('installing firefox-esr');
      expect(result.status).toBe(0);
      expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual([
        'noninteractive update',
        'noninteractive install -y firefox-esr',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('temporary profiles', () => {
  it('sweeps profiles whose owner died, ending processes still running on them, and keeps live ones', async () => {
    const live = await makeTempDir('sweeptest');
    // A profile owned by a process that has exited, with a stand-in "browser" still running on it.
    const dead = spawnSync('true').pid!;
    const stale = path.join(os.tmpdir(), `guardlens-e2e-sweeptest-stale${process.pid}`);
    mkdirSync(stale, { recursive: true });
    await writeFile(path.join(stale, '.guardlens-owner'), String(dead));
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', '--', '--profile', stale], {
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => holder.once('exit', (_code, signal) => resolve(signal)));
    try {
      await waitFor(() => processesUsingProfile(stale).includes(holder.pid!), { timeoutMs: 2000 });
      sweepStaleTempDirs();
      expect(await exited).toBe('SIGKILL');
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(live)).toBe(true);
    } finally {
      holder.kill('SIGKILL');
      await rm(live, { recursive: true, force: true });
      await rm(stale, { recursive: true, force: true });
    }
  });
});
