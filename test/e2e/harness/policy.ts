/**
 * Managed-storage policies for the test browsers. Both browsers read enterprise policy only from
 * root-owned, machine-wide locations, so a test that needs one writes it there before launch and removes
 * it on close.
 *
 * - Chromium: `/etc/chromium/policies/managed/guardlens-test-<pid>.json` =
 *   `{"3rdparty":{"extensions":{"<id>": policy}}}` (values the extension's `managed_schema.json` does not
 *   declare are dropped by Chromium).
 * - Firefox: `<install dir>/distribution/policies.json` =
 *   `{"policies":{"3rdparty":{"Extensions":{"guardlens@guardlens.dev": policy}}}}`, with a marker file beside
 *   it holding the owner's pid, so only a file the harness wrote is ever removed. A
 *   `/etc/firefox/policies/policies.json` would take precedence; the harness refuses to run a policy test
 *   when one exists.
 *
 * Every file names the test process that owns it. Because every browser on the machine reads these
 * files, several test processes (several people running tests at once) must take turns: each launch first
 * removes files whose owner died (a crashed run), then waits while another live process holds a policy for
 * the same browser, and fails with a clear error if that takes too long. Within one process, only one
 * browser of a kind may run while a policy is installed for that kind.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BrowserName } from './types';
import { processAlive } from './util';

export const CHROMIUM_POLICY_DIR = '/etc/chromium/policies/managed';
const CHROMIUM_POLICY_NAME = /^guardlens-test(?:-(\d+))?\.json$/;

/** The Chromium policy file of the process `pid` (this process by default). */
export function chromiumPolicyFile(pid: number = process.pid): string {
  return path.join(CHROMIUM_POLICY_DIR, `guardlens-test-${pid}.json`);
}

/** This process's Chromium policy file. */
export const CHROMIUM_POLICY_FILE = chromiumPolicyFile();
export const FIREFOX_DISTRIBUTION_DIR = '/usr/lib/firefox-esr/distribution';
export const FIREFOX_POLICY_FILE = path.join(FIREFOX_DISTRIBUTION_DIR, 'policies.json');
/** Present beside `policies.json` exactly when the harness wrote it; holds the owner's pid. */
export const FIREFOX_POLICY_MARKER = path.join(FIREFOX_DISTRIBUTION_DIR, '.guardlens-test-policy');
const FIREFOX_SYSTEM_POLICY_FILE = '/etc/firefox/policies/policies.json';

export class PolicySetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicySetupError';
  }
}

function explainWriteError(file: string, error: unknown): PolicySetupError {
  const code = (error as NodeJS.ErrnoException).code;
  const hint =
    code === 'EACCES' || code === 'EPERM'
      ? ' Policy tests write system policy files and must run as root.'
      : '';
  return new PolicySetupError(`Cannot write the test policy file ${file}: ${String(error)}.${hint}`);
}

function liveOther(pid: number): boolean {
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid);
}

/**
 * Removes Chromium policy files whose owner is gone (and the unnamed file of older harness versions);
 * returns the pids of other live processes that hold one.
 */
export function sweepChromiumPolicies(): number[] {
  let entries: string[];
  try {
    entries = readdirSync(CHROMIUM_POLICY_DIR);
  } catch {
    return [];
  }
  const live: number[] = [];
  for (const entry of entries) {
    const match = CHROMIUM_POLICY_NAME.exec(entry);
    if (!match) continue;
    const owner = Number(match[1]);
    if (owner === process.pid) continue;
    if (liveOther(owner)) live.push(owner);
    else rmSync(path.join(CHROMIUM_POLICY_DIR, entry), { force: true });
  }
  return live;
}

export async function writeChromiumPolicy(
  extensionId: string,
  policy: Record<string, unknown>,
): Promise<void> {
  try {
    await mkdir(CHROMIUM_POLICY_DIR, { recursive: true });
    await writeFile(
      CHROMIUM_POLICY_FILE,
      JSON.stringify({ '3rdparty': { extensions: { [extensionId]: policy } } }, null, 2),
    );
  } catch (error) {
    throw explainWriteError(CHROMIUM_POLICY_FILE, error);
  }
}

export async function removeChromiumPolicy(): Promise<void> {
  await rm(CHROMIUM_POLICY_FILE, { force: true });
}

function firefoxPolicyOwner(): number | undefined {
  try {
    return Number(readFileSync(FIREFOX_POLICY_MARKER, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/**
 * Removes a Firefox `policies.json` the harness wrote for a process that is gone (never someone else's);
 * returns the pid of another live process that holds it, if any.
 */
export function sweepFirefoxPolicy(): number[] {
  const owner = firefoxPolicyOwner();
  if (owner === undefined || owner === process.pid) return [];
  if (liveOther(owner)) return [owner];
  rmSync(FIREFOX_POLICY_FILE, { force: true });
  rmSync(FIREFOX_POLICY_MARKER, { force: true });
  return [];
}

export async function writeFirefoxPolicy(geckoId: string, policy: Record<string, unknown>): Promise<void> {
  if (existsSync(FIREFOX_SYSTEM_POLICY_FILE)) {
    throw new PolicySetupError(
      `${FIREFOX_SYSTEM_POLICY_FILE} exists and would override the test policy; move it away to run policy tests.`,
    );
  }
  if (existsSync(FIREFOX_POLICY_FILE) && !existsSync(FIREFOX_POLICY_MARKER)) {
    throw new PolicySetupError(
      `${FIREFOX_POLICY_FILE} exists and was not written by the Guardlens test harness; ` +
        'refusing to overwrite it. Move it away to run policy tests.',
    );
  }
  try {
    await mkdir(FIREFOX_DISTRIBUTION_DIR, { recursive: true });
    await writeFile(FIREFOX_POLICY_MARKER, `${process.pid}\n`);
    await writeFile(
      FIREFOX_POLICY_FILE,
      JSON.stringify({ policies: { '3rdparty': { Extensions: { [geckoId]: policy } } } }, null, 2),
    );
  } catch (error) {
    throw explainWriteError(FIREFOX_POLICY_FILE, error);
  }
}

/** Removes this process's Firefox policy (never another process's). */
export async function removeFirefoxPolicy(): Promise<void> {
  if (firefoxPolicyOwner() !== process.pid) return;
  await rm(FIREFOX_POLICY_FILE, { force: true });
  await rm(FIREFOX_POLICY_MARKER, { force: true });
}

/** What a policy file currently says (for tests of the harness itself). */
export function readPolicyFile(file: string): unknown {
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
}

/** Browsers of this process that currently run with a policy installed. */
const policyHolders = new Set<BrowserName>();
/** Browsers of this process that currently run (with or without policy). */
const running = new Map<BrowserName, number>();

/**
 * Prepares the machine-wide policy location for one launch: removes stale files, waits (up to
 * `waitMs`) while another live test process holds a policy for this browser, writes `policy` if given,
 * and returns the function that undoes it on close.
 */
export async function claimPolicy(
  browser: BrowserName,
  extensionId: string,
  policy: Record<string, unknown> | undefined,
  waitMs = 120_000,
): Promise<() => Promise<void>> {
  if (policyHolders.has(browser)) {
    throw new PolicySetupError(
      `This test process already runs a ${browser} with a managed policy; close it before launching another ${browser}.`,
    );
  }
  if (policy && (running.get(browser) ?? 0) > 0) {
    throw new PolicySetupError(
      `A ${browser} of this test process is running; a policy would reach it too. Close it first.`,
    );
  }
  const sweep = browser === 'chromium' ? sweepChromiumPolicies : sweepFirefoxPolicy;
  const deadline = Date.now() + waitMs;
  for (let others = sweep(); others.length > 0; others = sweep()) {
    if (Date.now() >= deadline) {
      throw new PolicySetupError(
        `Another test process (pid ${others.join(', ')}) holds a ${browser} test policy, which would reach this ` +
          `browser too; waited ${Math.round(waitMs / 1000)} s for it to finish.`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  running.set(browser, (running.get(browser) ?? 0) + 1);
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    running.set(browser, (running.get(browser) ?? 1) - 1);
    if (!policy) return;
    policyHolders.delete(browser);
    if (browser === 'chromium') await removeChromiumPolicy();
    else await removeFirefoxPolicy();
  };
  if (policy) {
    policyHolders.add(browser);
    try {
      if (browser === 'chromium') await writeChromiumPolicy(extensionId, policy);
      else await writeFirefoxPolicy(extensionId, policy);
    } catch (error) {
      await release();
      throw error;
    }
  }
  return release;
}
