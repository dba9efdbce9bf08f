/**
 * Where the page content script spends its time: loads corpus pages in Chromium with an unminified build of
 * Guardlens under V8's CPU profiler and prints, per page and over all of them, the self time of the content
 * script's functions (and of the browser's built-ins they call, under the content script's name).
 *
 *   npm run bench:profile -- cnn lwn-1 dev418      # those pages
 *   npm run bench:profile                          # every corpus page
 *
 * A tool for finding the cost, not a measurement of it: the profiler slows everything it samples, so its
 * milliseconds are larger than `npm run bench`'s. Builds into `.output/profile/` (`GUARDLENS_NO_MINIFY=1`, see wxt.config.ts).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { launchBrowser, REPO_ROOT, startStaticServer } from '../test/e2e/harness';
import { startGuardServer } from '../test/server/guard-server';
import { CORPUS_DIR, listCorpus } from './pages';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const API_KEY = 'profile-key';
const SETTLE_MS = 3000;

/** Self time (ms) per function; a native or built-in called from the content script counts as its caller's. */
function attribute(profile: Profile, isOurs: (url: string) => boolean): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const owner = new Map<number, string | null>();
  const ownerOf = (id: number): string | null => {
    if (owner.has(id)) return owner.get(id) ?? null;
    const node = byId.get(id);
    let result: string | null = null;
    if (node) {
      const { url, functionName, lineNumber } = node.callFrame;
      if (isOurs(url)) result = `${functionName || '(anonymous)'}:${lineNumber + 1}`;
      else if (!url) {
        // A built-in (getComputedStyle, a GC, a regex): charged to the nearest script frame above it.
        const up = parent.get(id);
        const above = up === undefined ? null : ownerOf(up);
        result = above ? `${above} → ${functionName || '(native)'}` : null;
      }
    }
    owner.set(id, result);
    return result;
  };
  const totals = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const key = ownerOf(profile.samples[i] ?? -1);
    if (!key) continue;
    totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  return totals;
}

function top(totals: Map<string, number>, n: number): string[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, ms]) => `${ms.toFixed(1).padStart(8)} ms  ${name}`);
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const corpus = listCorpus(CORPUS_DIR).filter((p) => wanted.length === 0 || wanted.includes(p.name));
  const outDir = path.join(REPO_ROOT, '.output', 'profile');
  const build = spawnSync('npx', ['wxt', 'build'], {
    cwd: REPO_ROOT,
    env: { ...process.env, GUARDLENS_NO_MINIFY: '1' },
    stdio: 'inherit',
  });
  if (build.status !== 0) throw new Error('the unminified build failed');
  const guard = await startGuardServer({ apiKey: API_KEY });
  const site = await startStaticServer({ root: null });
  site.mount('/corpus/', CORPUS_DIR);
  const gl = await launchBrowser('chromium', { extensionPath: path.join(outDir, 'chrome-mv3') });
  const all = new Map<string, number>();
  try {
    await gl.configure(
      { provider: 'custom', baseUrl: guard.baseUrl, model: 'profile', guardModel: 'llama-guard-4-12b' },
      API_KEY,
    );
    const context = gl.chromium!.context;
    const isOurs = (url: string) => url.startsWith(`${gl.extensionOrigin}/content-scripts/content.js`);
    for (const page of corpus) {
      const tab = await context.newPage();
      const cdp = await context.newCDPSession(tab);
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
      await cdp.send('Profiler.start');
      await tab.goto(site.url(`/corpus/${page.name}/source.html`), { waitUntil: 'load', timeout: 60_000 });
      await tab.waitForTimeout(SETTLE_MS);
      const { profile } = (await cdp.send('Profiler.stop')) as { profile: Profile };
      const totals = attribute(profile, isOurs);
      let sum = 0;
      for (const [name, ms] of totals) {
        sum += ms;
        all.set(name, (all.get(name) ?? 0) + ms);
      }
      console.log(`\n${page.name}: ${sum.toFixed(1)} ms in the content script`);
      for (const line of top(totals, 12)) console.log(line);
      await tab.close();
    }
    console.log(`\nAll ${corpus.length} pages:`);
    for (const line of top(all, 40)) console.log(line);
  } finally {
    await gl.close();
    await site.close();
    await guard.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
