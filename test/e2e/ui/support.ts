/**
 * Helpers for the popup and options page tests (Chromium): open an extension page at the popup's size, run
 * axe-core in it, save screenshots under `docs/screenshots/`, and explain a failure with the extension's state.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { GuardlensBrowser, PageHandle } from '../harness';
import { REPO_ROOT } from '../harness';

/**
 * Screenshots go to `test/.artifacts/screenshots/` on every run, and into `docs/screenshots/` (the README's) only
 * when `GUARDLENS_UPDATE_SCREENSHOTS=1`, so a test run leaves the work tree clean.
 */
export const SCREENSHOT_DIR = path.join(
  REPO_ROOT,
  process.env.GUARDLENS_UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : 'test/.artifacts/screenshots',
);
export const UI_PAGES_DIR = 'test/e2e/ui/pages';

/** The toolbar popup's width (`.gl-popup` in components/styles.css). */
export const POPUP_WIDTH = 360;

const AXE_SOURCE = readFileSync(path.join(REPO_ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');

export function rawPage(page: PageHandle): Page {
  return page.raw as Page;
}

/** Opens `popup.html?tabId=N` in a tab sized like the toolbar popup. */
export async function openPopup(
  gl: GuardlensBrowser,
  tabId: number,
  opts: { colorScheme?: 'light' | 'dark'; height?: number } = {},
): Promise<PageHandle> {
  const page = await gl.openExtensionPage(`/popup.html?tabId=${tabId}`);
  const raw = rawPage(page);
  await raw.setViewportSize({ width: POPUP_WIDTH, height: opts.height ?? 600 });
  await raw.emulateMedia({ colorScheme: opts.colorScheme ?? 'light' });
  await raw.locator('main.gl-popup').waitFor();
  return page;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** Runs axe-core in the page and returns its serious and critical violations. */
export async function seriousViolations(page: PageHandle): Promise<AxeViolation[]> {
  const raw = rawPage(page);
  await raw.evaluate(AXE_SOURCE);
  const violations = (await raw.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: unknown[] }> };
      }
    ).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations;
  })) as AxeViolation[];
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** A readable summary of violations for an assertion message. */
export function describeViolations(violations: AxeViolation[]): string {
  return violations
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help}\n${v.nodes.map((n) => `  ${n.target.join(' ')}: ${n.failureSummary ?? ''}`).join('\n')}`,
    )
    .join('\n');
}

/**
 * Saves a PNG of the page under docs/screenshots/: the viewport, the whole page, or one element. The options
 * page's sticky save bar is left out of element shots (it would cover their bottom).
 */
export async function screenshot(
  page: PageHandle,
  name: string,
  target?: string | { fullPage: true },
): Promise<string> {
  const selector = typeof target === 'string' ? target : undefined;
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  const raw = rawPage(page);
  // Let the caret and transitions settle, and keep the screenshot free of a blinking caret.
  await raw.evaluate(() => (document.activeElement as HTMLElement | null)?.blur?.());
  if (selector) {
    const mask = raw.locator('.gl-savebar');
    await raw.evaluate(() =>
      document.querySelector<HTMLElement>('.gl-savebar')?.style.setProperty('visibility', 'hidden'),
    );
    try {
      await raw.locator(selector).first().screenshot({ path: file, animations: 'disabled' });
    } finally {
      if (await mask.count())
        await raw.evaluate(() =>
          document.querySelector<HTMLElement>('.gl-savebar')?.style.removeProperty('visibility'),
        );
    }
  } else {
    await raw.screenshot({ path: file, fullPage: typeof target === 'object', animations: 'disabled' });
  }
  return file;
}

/** True when the page does not scroll sideways at its current width. */
export function fitsWidth(page: PageHandle): Promise<{ scrollWidth: number; clientWidth: number }> {
  return rawPage(page).evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
}

/** The extension's storage and the end of the console, for a failure message. */
export async function diagnostics(gl: GuardlensBrowser, tabId?: number): Promise<string> {
  const storage = await gl
    .extensionEval(() =>
      Promise.all([browser.storage.local.get(null), browser.storage.session.get(null)]).then(
        ([local, session]) => ({
          local: { ...local, apiKey: local.apiKey ? '(set)' : '(unset)' },
          session,
        }),
      ),
    )
    .catch((error: unknown) => `unreadable: ${String(error)}`);
  const log = gl.consoleLog
    .slice(-30)
    .map((e) => `  [${e.type}] ${e.text.slice(0, 300)}${e.url ? ` (${e.url})` : ''}`)
    .join('\n');
  return [
    tabId === undefined
      ? ''
      : `Tab ${tabId} state: ${JSON.stringify(await gl.tabState(tabId).catch(() => 'unreadable'))}`,
    `Extension storage: ${JSON.stringify(storage).slice(0, 4000)}`,
    `Console (last 30):\n${log || '  (nothing)'}`,
  ].join('\n');
}

/** Runs `step`; on failure, adds the diagnostics to the error. */
export async function explain<T>(
  gl: GuardlensBrowser,
  tabId: number | undefined,
  step: () => Promise<T>,
): Promise<T> {
  try {
    return await step();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n${await diagnostics(gl, tabId)}`);
  }
}
