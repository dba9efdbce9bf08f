/**
 * Managed-storage policies for the test browsers. Both browsers read enterprise policy only from
 * root-owned system locations, so a test that needs one writes it there before launch and removes it on
 * close. Every launch also removes a file a crashed run may have left, so no test inherits another's
 * policy.
 *
 * - Chromium: `/etc/chromium/policies/managed/guardlens-test.json` =
 *   `{"3rdparty":{"extensions":{"<id>": policy}}}` (values the extension's `managed_schema.json` does not
 *   declare are dropped by Chromium).
 * - Firefox: `<install dir>/distribution/policies.json` =
 *   `{"policies":{"3rdparty":{"Extensions":{"guardlens@guardlens.dev": policy}}}}`, with a marker file beside
 *   it so only a file the harness wrote is ever removed. A `/etc/firefox/policies/policies.json` would take
 *   precedence; the harness refuses to run a policy test when one exists.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const CHROMIUM_POLICY_FILE = '/etc/chromium/policies/managed/guardlens-test.json';
export const FIREFOX_DISTRIBUTION_DIR = '/usr/lib/firefox-esr/distribution';
export const FIREFOX_POLICY_FILE = path.join(FIREFOX_DISTRIBUTION_DIR, 'policies.json');
/** Present beside `policies.json` exactly when the harness wrote it. */
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

/** Removes a Chromium policy file left by an earlier run (ours by name). */
export function removeStaleChromiumPolicy(): void {
  rmSync(CHROMIUM_POLICY_FILE, { force: true });
}

export async function writeChromiumPolicy(
  extensionId: string,
  policy: Record<string, unknown>,
): Promise<void> {
  try {
    await mkdir(path.dirname(CHROMIUM_POLICY_FILE), { recursive: true });
    await writeFile(
      CHROMIUM_POLICY_FILE,
      JSON.stringify({ '3rdparty': { extensions: { [extensionId]: policy } } }, null, 2),
    );
    // Chromium treats policy files modified in the last 5 s as still being written and delays re-reading them.
    const settled = new Date(Date.now() - 60_000);
    await utimes(CHROMIUM_POLICY_FILE, settled, settled);
  } catch (error) {
    throw explainWriteError(CHROMIUM_POLICY_FILE, error);
  }
}

export async function removeChromiumPolicy(): Promise<void> {
  await rm(CHROMIUM_POLICY_FILE, { force: true });
}

/** Removes a Firefox `policies.json` the harness wrote earlier (never someone else's). */
export function removeStaleFirefoxPolicy(): void {
  if (existsSync(FIREFOX_POLICY_MARKER)) {
    rmSync(FIREFOX_POLICY_FILE, { force: true });
    rmSync(FIREFOX_POLICY_MARKER, { force: true });
  }
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

export async function removeFirefoxPolicy(): Promise<void> {
  if (!existsSync(FIREFOX_POLICY_MARKER)) return;
  await rm(FIREFOX_POLICY_FILE, { force: true });
  await rm(FIREFOX_POLICY_MARKER, { force: true });
}

/** What the harness's policy file currently says (for tests of the harness itself). */
export function readPolicyFile(file: string): unknown {
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
}
