/**
 * Small pieces both launchers share: polling, page-function serialisation, temporary profile directories
 * and the paths of the built extension.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserName, Falsy, PageFunction, WaitOptions } from './types';

export type { Falsy } from './types';

/** The repository root (three levels above this file). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const EXTENSION_BUILD_DIRS: Readonly<Record<BrowserName, string>> = {
  chromium: path.join(REPO_ROOT, '.output/chrome-mv3'),
  firefox: path.join(REPO_ROOT, '.output/firefox-mv2'),
};

/** Thrown when the unpacked build a test needs is missing. */
export class BuildMissingError extends Error {
  constructor(browser: BrowserName, dir: string, detail?: string) {
    super(
      `${detail ?? `The ${browser} build of Guardlens is missing (no ${path.join(dir, 'manifest.json')}).`} ` +
        'Run `npm run build` first.',
    );
    this.name = 'BuildMissingError';
  }
}

/** Returns the build directory for `browser`, or throws `BuildMissingError`. */
export function requireBuild(browser: BrowserName, dir: string = EXTENSION_BUILD_DIRS[browser]): string {
  if (!existsSync(path.join(dir, 'manifest.json'))) throw new BuildMissingError(browser, dir);
  return dir;
}

/** Files a built manifest names that are missing from `dir` (empty when the build looks complete). */
export function missingBuildFiles(dir: string): string[] {
  let manifest: {
    background?: { service_worker?: string; scripts?: string[]; page?: string };
    content_scripts?: Array<{ js?: string[]; css?: string[] }>;
    action?: { default_popup?: string };
    browser_action?: { default_popup?: string };
    options_ui?: { page?: string };
    default_locale?: string;
  };
  try {
    manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  } catch {
    return ['manifest.json'];
  }
  const named = [
    manifest.background?.service_worker,
    manifest.background?.page,
    ...(manifest.background?.scripts ?? []),
    ...(manifest.content_scripts ?? []).flatMap((c) => [...(c.js ?? []), ...(c.css ?? [])]),
    manifest.action?.default_popup,
    manifest.browser_action?.default_popup,
    manifest.options_ui?.page,
    manifest.default_locale ? `_locales/${manifest.default_locale}/messages.json` : undefined,
  ].filter((f): f is string => typeof f === 'string' && f.length > 0);
  return named.filter((f) => !existsSync(path.join(dir, f)));
}

/**
 * Copies the build into `dest` (inside the launch's temporary directory), so a rebuild started while the
 * browser runs cannot pull files from under it. Waits up to `timeoutMs` for a build that is being written
 * to be complete, then throws `BuildMissingError`.
 */
export async function snapshotBuild(
  browser: BrowserName,
  source: string,
  dest: string,
  timeoutMs = 20_000,
): Promise<string> {
  requireBuild(browser, source);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const missing = missingBuildFiles(source);
    if (missing.length === 0) {
      await rm(dest, { recursive: true, force: true });
      await cp(source, dest, { recursive: true });
      if (missingBuildFiles(dest).length === 0) return dest;
    }
    if (Date.now() >= deadline) {
      const detail = missing.length ? `missing ${missing.join(', ')}` : 'it changed while being copied';
      throw new BuildMissingError(
        browser,
        source,
        `The ${browser} build in ${source} is incomplete (${detail}).`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export class WaitTimeoutError extends Error {
  constructor(
    message: string,
    readonly lastError?: unknown,
  ) {
    super(lastError ? `${message} (last error: ${String(lastError)})` : message);
    this.name = 'WaitTimeoutError';
  }
}

/** What `within` gives for a promise that did not settle in time. */
export const TIMED_OUT: unique symbol = Symbol('timed out');

/**
 * `promise`'s value, or `TIMED_OUT` when it has not settled within `ms` (it is then left to settle on its own,
 * unobserved). A rejection within `ms` rejects.
 */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Calls `probe` until it returns a truthy value and returns that value. A probe that throws counts as "not
 * yet" (pages navigate, workers restart); the last error is reported on timeout. A probe that never settles (a
 * stuck page evaluation) ends the wait at its deadline too.
 */
export async function waitFor<T>(
  probe: () => T | Falsy | Promise<T | Falsy>,
  options: WaitOptions = {},
): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 100, message = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await within(
        Promise.resolve().then(probe),
        Math.max(0, deadline - Date.now()) + intervalMs,
      );
      if (value === TIMED_OUT) lastError = new Error('the last probe did not settle before the deadline');
      else if (value) return value as T;
      else lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new WaitTimeoutError(`Timed out after ${timeoutMs} ms waiting for ${message}`, lastError);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Turns a page function and its arguments into one expression that both playwright and puppeteer evaluate
 * through their protocol (which page CSP does not restrict). Inside, `browser` is the extension API when the
 * page has one, and `__name` is defined for code transpiled with kept function names.
 */
export function pageExpression(fn: PageFunction<unknown>, args: readonly unknown[]): string {
  const prelude =
    'const __name = (f) => f; ' +
    "const browser = globalThis.browser ?? (typeof chrome !== 'undefined' ? chrome : undefined);";
  if (typeof fn === 'string') {
    if (args.length > 0) throw new TypeError('Arguments can only be passed with a function, not a string');
    return `(async () => { ${prelude} return (${fn}); })()`;
  }
  const source = fn.toString();
  let encoded: string;
  try {
    encoded = JSON.stringify(args);
  } catch (error) {
    throw new TypeError(`Page function arguments must be JSON-serialisable: ${String(error)}`);
  }
  return `(async () => { ${prelude} return (${source})(...${encoded}); })()`;
}

const TEMP_PREFIX = 'guardlens-e2e-';
const OWNER_FILE = '.guardlens-owner';

/** Whether a process with this pid exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Browser processes still running on `profileDir`: those whose command line names it (Linux `/proc`).
 * A browser outlives a test process killed outright when it talks over a socket rather than a pipe.
 */
export function processesUsingProfile(profileDir: string): number[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const pid of pids) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (
        args.some(
          (arg) =>
            arg === profileDir ||
            arg.startsWith(`${profileDir}${path.sep}`) ||
            arg.endsWith(`=${profileDir}`),
        )
      ) {
        found.push(Number(pid));
      }
    } catch {
      // The process ended meanwhile.
    }
  }
  return found.filter((pid) => pid !== process.pid);
}

/**
 * Removes profile directories left behind by test processes that died without cleaning up (each records
 * its owner's pid), after ending the browser processes still running on them.
 */
export function sweepStaleTempDirs(): void {
  const tmp = os.tmpdir();
  let entries: string[];
  try {
    entries = readdirSync(tmp);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.startsWith(TEMP_PREFIX)) continue;
    const dir = path.join(tmp, entry);
    try {
      const info = statSync(dir);
      if (!info.isDirectory()) continue;
      const ownerFile = path.join(dir, OWNER_FILE);
      if (!existsSync(ownerFile)) {
        // A launch that died between creating the directory and naming its owner, unless it is still
        // happening right now.
        if (Date.now() - info.mtimeMs < 60_000) continue;
      } else {
        const owner = Number(readFileSync(ownerFile, 'utf8'));
        if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) continue;
      }
    } catch {
      continue;
    }
    for (const pid of processesUsingProfile(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A fresh temporary directory owned by this process. */
export async function makeTempDir(kind: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `${TEMP_PREFIX}${kind}-`));
  await writeFile(path.join(dir, OWNER_FILE), String(process.pid));
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  // Browsers can still be writing for a moment after their process exits; retry briefly.
  await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
}

/** Runs every cleanup step even when some fail; throws the first failure afterwards. */
export async function runCleanups(steps: Array<() => Promise<unknown> | unknown>): Promise<void> {
  let first: unknown;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      first ??= error;
    }
  }
  if (first) throw first;
}
