/**
 * The two Chromium instances the benchmark compares: Guardlens loaded through the E2E harness, and the same
 * Chromium with the same flags, viewport, profile kind and network blocker, but no extension (the baseline).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, symlink } from 'node:fs/promises';
import path from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import {
  type BlockedRequest,
  CHROMIUM_EXECUTABLE,
  CHROMIUM_FLAGS,
  EXTENSION_BUILD_DIRS,
  REPO_ROOT,
  requireBuild,
  startBlockingProxy,
} from '../test/e2e/harness';
import { makeTempDir, removeTempDir, runCleanups } from '../test/e2e/harness/util';

export const VIEWPORT = { width: 1280, height: 800 };

export interface BaselineBrowser {
  context: BrowserContext;
  blocked: BlockedRequest[];
  close(): Promise<void>;
}

/**
 * Chromium without any extension, otherwise launched as the harness launches it; or with only the unpacked
 * extension in `extensionDir` (the floor, `floor.ts`).
 */
export async function launchBaseline(extensionDir?: string): Promise<BaselineBrowser> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const close = () => runCleanups(cleanups.splice(0).reverse());
  try {
    const proxy = await startBlockingProxy();
    cleanups.push(() => proxy.close());
    const userDataDir = await makeTempDir('bench-baseline');
    cleanups.push(() => removeTempDir(userDataDir));
    const extension = extensionDir
      ? [`--disable-extensions-except=${extensionDir}`, `--load-extension=${extensionDir}`]
      : [];
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_EXECUTABLE,
      headless: process.env.GUARDLENS_HEADED !== '1',
      ...(extensionDir ? { ignoreDefaultArgs: ['--disable-extensions'] } : {}),
      args: [...extension, `--proxy-server=http://${proxy.hostPort}`, ...CHROMIUM_FLAGS],
      viewport: VIEWPORT,
    });
    cleanups.push(() => context.close());
    return { context, blocked: proxy.blocked, close };
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}

export interface BuildSnapshot {
  dir: string;
  remove(): Promise<void>;
}

/**
 * Copies the Chrome build to a directory of this run, so a rebuild by somebody else during the run cannot
 * change what is measured half-way.
 */
export async function snapshotBuild(source = EXTENSION_BUILD_DIRS.chromium): Promise<BuildSnapshot> {
  requireBuild('chromium', source);
  const parent = await makeTempDir('bench-build');
  const dir = path.join(parent, 'chrome-mv3');
  await cp(source, dir, { recursive: true });
  requireBuild('chromium', dir);
  return { dir, remove: () => removeTempDir(parent) };
}

/** What is measured: the working tree built now, the committed HEAD built apart, or `.output` as it is. */
export type BuildSource = 'worktree' | 'head' | 'existing';

export interface BuildInfo {
  source: BuildSource;
  commit: string;
  /** Files changed in the working tree but not committed (they are in a `worktree` build). */
  uncommitted: string[];
  /** The source tree that was built (a temporary copy for `head`). */
  tree: string;
}

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
}

/** Builds the Chrome extension for production as asked and snapshots it for this run. */
export async function buildExtension(
  source: BuildSource,
  log: (line: string) => void,
): Promise<BuildSnapshot & BuildInfo> {
  const commit = git(['rev-parse', 'HEAD']);
  const uncommitted = git(['status', '--porcelain', '--untracked-files=no'])
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.slice(3));
  const info = { source, commit, uncommitted: source === 'head' ? [] : uncommitted, tree: REPO_ROOT };
  if (source === 'existing') return { ...(await snapshotBuild()), ...info };
  if (source === 'worktree') {
    log('Building the working tree for Chrome (wxt build)…');
    execFileSync('npx', ['wxt', 'build'], { cwd: REPO_ROOT, stdio: 'ignore' });
    return { ...(await snapshotBuild()), ...info };
  }
  log(`Building the committed HEAD (${commit.slice(0, 10)}) for Chrome in a temporary copy (wxt build)…`);
  const parent = await makeTempDir('bench-head');
  try {
    const tree = path.join(parent, 'src');
    execFileSync('bash', ['-c', `mkdir -p "${tree}" && git archive HEAD | tar -x -C "${tree}"`], {
      cwd: REPO_ROOT,
    });
    await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(tree, 'node_modules'));
    // Fixtures that live beside the repository (`../shared`) are found from the copy too.
    const shared = path.resolve(REPO_ROOT, '../shared');
    if (existsSync(shared)) await symlink(shared, path.join(parent, 'shared'));
    execFileSync('npx', ['wxt', 'build'], { cwd: tree, stdio: 'ignore' });
    const built = path.join(tree, path.relative(REPO_ROOT, EXTENSION_BUILD_DIRS.chromium));
    const snapshot = await snapshotBuild(built);
    const remove = async () => {
      await snapshot.remove();
      await removeTempDir(parent);
    };
    return { ...info, tree, dir: snapshot.dir, remove };
  } catch (error) {
    await removeTempDir(parent);
    throw error;
  }
}
