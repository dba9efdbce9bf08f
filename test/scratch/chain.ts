import path from 'node:path';
import { launchBrowser, REPO_ROOT, startStaticServer } from '../e2e/harness';
import { DEFAULT_RULES, startGuardServer } from '../server/guard-server';
import { API_KEY, baseSettings, buildDir, settingsInForce } from '../e2e/page/helpers';
const pages: Record<string, string> = { aclu: 'Early bird discount ends', 'google-sre-book-1': '2. The Production Environment', 'wikipedia-3': 'From Wikipedia, the free' };
const guard = await startGuardServer({ preloadTokenizer: true, apiKey: API_KEY });
const site = await startStaticServer({ root: null });
site.mount('/corpus/', path.resolve(REPO_ROOT, '../shared/corpus/pages'));
const gl = await launchBrowser('chromium', { extensionPath: buildDir('chromium') });
guard.setLatency(250);
for (const [name, phrase] of Object.entries(pages)) {
  guard.setRules([...DEFAULT_RULES, { phrase, categories: ['S1'] }]);
  const model = `chain-${name}-${Date.now()}`;
  await gl.configure(baseSettings(guard, { model }), API_KEY);
  await settingsInForce(gl, model);
  const from = guard.requests.length;
  const page = await gl.chromium!.context.newPage();
  await page.addInitScript(`new MutationObserver((rs) => { for (const r of rs) if (r.target.getAttribute && r.target.getAttribute('data-guardlens') === 'flagged' && !window.__f) window.__f = performance.now(); }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-guardlens'] });`);
  await page.goto(site.url(`/corpus/${name}/source.html`));
  await new Promise((r) => setTimeout(r, 4000));
  const t = (await page.evaluate(() => { const n = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming; return [performance.timeOrigin, n.domContentLoadedEventEnd, (window as any).__f, n.responseEnd]; })) as number[];
  console.log('mark after DCL', (t[2]! - t[1]!).toFixed(0), 'responseEnd', t[3]!.toFixed(0), 'dcl', t[1]!.toFixed(0));
  const dcl = t[0]! + t[1]!;
  console.log(`== ${name}`);
  for (const r of guard.requests.slice(from)) {
    const text = r.text ?? '';
    console.log(`${(r.receivedAt - dcl).toFixed(0).padStart(6)} → ${((r.answeredAt ?? 0) - dcl).toFixed(0).padStart(6)}  blocks ${String(text.split('\n\n').length).padStart(3)} chars ${String(text.length).padStart(6)} ${text.toLowerCase().includes(phrase.toLowerCase()) ? 'PHRASE' : ''}`);
  }
  await page.close();
}
await gl.close(); await site.close(); await guard.close();
