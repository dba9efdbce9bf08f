/**
 * Extension pages run under a strict content security policy: scripts only from the extension itself (no
 * `unsafe-eval`, no inline scripts or handlers), no plugins, no `<base>`. Checked twice:
 * - over the builds (`.output/chrome-mv3`, `.output/firefox-mv2`, or `$GUARDLENS_BUILD_DIR`): the manifest's
 *   policy, and every HTML page for inline scripts, `on…=` handlers and `javascript:` URLs;
 * - in real Chromium and Firefox: on the options page `eval`, `new Function`, an inserted inline script and
 *   an inline handler are refused, while the page itself works and the popup still shows `data:` and
 *   `http:` images (thumbnails of flagged images). That the background, under the same policy, still reaches
 *   the configured endpoint is shown by `privacy.e2e.ts`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BROWSER_NAMES,
  type GuardlensBrowser,
  launchBrowser,
  type StaticServer,
  startStaticServer,
} from '../harness';
import { buildDir, makePng } from '../page/helpers';

/** The extension pages' policy from a built manifest (MV3 object or MV2 string), as directive → sources. */
function manifestPolicy(dir: string): Map<string, string[]> {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
    content_security_policy?: string | { extension_pages?: string };
  };
  const csp = manifest.content_security_policy;
  const text = typeof csp === 'string' ? csp : csp?.extension_pages;
  if (!text) throw new Error(`${dir}/manifest.json sets no content security policy for extension pages`);
  const policy = new Map<string, string[]>();
  for (const part of text.split(';')) {
    const [directive, ...sources] = part.trim().split(/\s+/);
    if (directive) policy.set(directive.toLowerCase(), sources);
  }
  return policy;
}

function htmlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.html'))
    .map((f) => path.join(dir, f));
}

describe.each(BROWSER_NAMES)('content security policy of the %s build', (name) => {
  const dir = buildDir(name);

  it('allows scripts from the extension only, no plugins and no <base>; leaves connections and images open', () => {
    const policy = manifestPolicy(dir);
    expect(policy.get('script-src')).toEqual(["'self'"]);
    expect(policy.get('object-src')).toEqual(["'none'"]);
    expect(policy.get('base-uri')).toEqual(["'none'"]);
    for (const sources of policy.values()) {
      expect(sources).not.toContain("'unsafe-eval'");
      expect(sources).not.toContain("'unsafe-inline'");
    }
    // The background must reach whichever endpoint the person sets, and the popup shows image thumbnails from
    // http(s) and data: URLs, so neither connections nor images are narrowed (no default-src either).
    expect(policy.has('default-src')).toBe(false);
    expect(policy.has('connect-src')).toBe(false);
    expect(policy.has('img-src')).toBe(false);
  });

  it('has no inline script, inline handler or javascript: URL in any built page', () => {
    const pages = htmlFiles(dir);
    expect(pages.map((p) => path.basename(p)).sort()).toEqual(
      expect.arrayContaining(['options.html', 'popup.html']),
    );
    for (const file of pages) {
      const html = readFileSync(file, 'utf8');
      const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi)];
      expect(scripts.length, `${file} loads its script`).toBeGreaterThan(0);
      for (const [, attributes, body] of scripts) {
        expect(attributes, `${file}: every script has a src`).toMatch(/\bsrc=/i);
        expect(body?.trim(), `${file}: no inline script`).toBe('');
      }
      expect(html, `${file}: no on…= handler`).not.toMatch(/<[^>]*\son[a-z]+\s*=/i);
      expect(html, `${file}: no javascript: URL`).not.toMatch(/javascript:/i);
    }
  });
});

describe.each(BROWSER_NAMES)('content security policy in %s', (name) => {
  let gl: GuardlensBrowser;
  let site: StaticServer;

  beforeAll(async () => {
    site = await startStaticServer({ root: null });
    site.route('/thumb.png', { body: makePng(4, 3, [200, 40, 40]), contentType: 'image/png' });
    gl = await launchBrowser(name, { extensionPath: buildDir(name) });
  });

  afterAll(async () => {
    await gl?.close();
    await site?.close();
  });

  it('the options page refuses eval, new Function, inline scripts and inline handlers, and still works', async () => {
    const options = await gl.openExtensionPage('/options.html');
    try {
      await options.waitForFunction(() => document.querySelector('#endpoint') !== null, {
        timeoutMs: 20_000,
      });
      const result = await options.evaluate(async () => {
        const w = window as unknown as Record<string, unknown>;
        const violations: string[] = [];
        document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
        const attempt = (fn: () => unknown) => {
          try {
            fn();
            return 'ran';
          } catch (error) {
            return (error as Error).name;
          }
        };
        // Test drivers may lift the eval ban while their own evaluation runs (CDP's
        // allowUnsafeEvalBlockedByCSP), so the attempts run in a later task, as the page's own code would.
        await new Promise((resolve) => setTimeout(resolve, 0));
        // biome-ignore lint/security/noGlobalEval: the test checks that the policy refuses it.
        const globalEval = globalThis.eval;
        const evalResult = attempt(() => globalEval('1 + 1'));
        const functionResult = attempt(() => new Function('return 1')());
        const inline = document.createElement('script');
        inline.textContent = 'window.__glInline = true;';
        document.body.append(inline);
        const handler = document.createElement('div');
        handler.setAttribute('onclick', 'window.__glHandler = true;');
        document.body.append(handler);
        handler.click();
        const jsUrl = document.createElement('a');
        jsUrl.href = 'javascript:window.__glJsUrl = true';
        document.body.append(jsUrl);
        jsUrl.click();
        await new Promise((resolve) => setTimeout(resolve, 300));
        return {
          evalResult,
          functionResult,
          inline: w.__glInline === true,
          handler: w.__glHandler === true,
          jsUrl: w.__glJsUrl === true,
          violations,
        };
      });
      expect(result.evalResult).toBe('EvalError');
      expect(result.functionResult).toBe('EvalError');
      expect(result.inline).toBe(false);
      expect(result.handler).toBe(false);
      expect(result.jsUrl).toBe(false);
      expect(result.violations.length).toBeGreaterThan(0);
      // The page's own script runs: the settings form is there and the extension API answers.
      expect(
        await options.evaluate(() => document.querySelectorAll('#endpoint input, #endpoint select').length),
      ).toBeGreaterThan(0);
    } finally {
      await options.close();
    }
  });

  it('the popup still shows image thumbnails from data: and http: URLs', async () => {
    const popup = await gl.openExtensionPage('/popup.html');
    try {
      const sizes = await popup.evaluate(
        async (httpUrl: string, dataUrl: string) => {
          const load = (src: string) =>
            new Promise<number>((resolve) => {
              const img = new Image();
              img.onload = () => resolve(img.naturalWidth);
              img.onerror = () => resolve(0);
              img.src = src;
              document.body.append(img);
            });
          return [await load(httpUrl), await load(dataUrl)];
        },
        site.url('/thumb.png'),
        `data:image/png;base64,${Buffer.from(makePng(2, 2, [0, 0, 0])).toString('base64')}`,
      );
      expect(sizes).toEqual([4, 2]);
    } finally {
      await popup.close();
    }
  });
});
