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

/** A piece of text that does not fit where it is shown: what, where, and why. */
export interface LayoutProblem {
  problem: 'overflows' | 'clipped' | 'off-page' | 'overlaps';
  text: string;
  where: string;
  detail: string;
}

/**
 * Text under `root` that does not fit its box, for languages with long words (German) or other scripts (Hindi,
 * Thai): an element with text of its own that is wider inside than its box (`scrollWidth > clientWidth`), a line
 * of text outside its block or outside the page's width, text cut by an ancestor that hides overflow, and two
 * pieces of text drawn over each other. Visually hidden text (screen-reader only) is left out.
 */
export function layoutProblems(page: PageHandle, root = 'body'): Promise<LayoutProblem[]> {
  return rawPage(page).evaluate((rootSelector: string) => {
    const TOLERANCE = 1;
    const problems: { problem: string; text: string; where: string; detail: string }[] = [];
    const describe = (el: Element) => {
      const id = el.id ? `#${el.id}` : '';
      const cls =
        typeof el.className === 'string' && el.className
          ? `.${el.className.trim().split(/\s+/).join('.')}`
          : '';
      return `${el.tagName.toLowerCase()}${id}${cls}`;
    };
    const visible = (el: Element) => {
      // Not shown: display none, visibility hidden, or the closed part of a <details> (content-visibility).
      if (!el.checkVisibility({ visibilityProperty: true, contentVisibilityAuto: true })) return false;
      for (let e: Element | null = el; e; e = e.parentElement) {
        const style = getComputedStyle(e);
        if (style.clipPath !== 'none' && style.position === 'absolute') return false; // .gl-sr-only
      }
      const rect = el.getBoundingClientRect();
      return rect.width > 1 && rect.height > 1;
    };
    /** Text in a bar that floats over the page on purpose (the options page's sticky save bar). */
    const floating = (el: Element) => {
      for (let e: Element | null = el; e; e = e.parentElement) {
        const position = getComputedStyle(e).position;
        if (position === 'fixed' || position === 'sticky') return true;
      }
      return false;
    };
    const blockOf = (el: Element): Element => {
      let e: Element | null = el;
      while (e && ['inline', 'contents'].includes(getComputedStyle(e).display) && e.parentElement)
        e = e.parentElement;
      return e ?? el;
    };
    const rootEl = document.querySelector(rootSelector);
    if (!rootEl) return [{ problem: 'off-page', text: '', where: rootSelector, detail: 'no such element' }];
    const texts: { rects: DOMRect[]; text: string; el: Element; floating: boolean }[] = [];
    const walker = document.createTreeWalker(rootEl, NodeFilter.SHOW_TEXT);
    const width = document.documentElement.clientWidth;
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent?.trim() ?? '';
      const el = node.parentElement;
      if (!text || !el || !visible(el) || el.closest('option, script, style, textarea')) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const rects = [...range.getClientRects()].filter((r) => r.width > 0.5 && r.height > 0.5);
      texts.push({ rects, text, el, floating: floating(el) });
      const short = text.slice(0, 60);
      const block = blockOf(el);
      const box = block.getBoundingClientRect();
      const style = getComputedStyle(block);
      const inner = {
        left: box.left + Number.parseFloat(style.borderLeftWidth) - TOLERANCE,
        right: box.right - Number.parseFloat(style.borderRightWidth) + TOLERANCE,
      };
      for (const r of rects) {
        if (r.left < inner.left || r.right > inner.right)
          problems.push({
            problem: 'overflows',
            text: short,
            where: describe(block),
            detail: `text ${Math.round(r.left)}–${Math.round(r.right)}, box ${Math.round(box.left)}–${Math.round(box.right)}`,
          });
        if (r.left < -TOLERANCE || r.right > width + TOLERANCE)
          problems.push({
            problem: 'off-page',
            text: short,
            where: describe(el),
            detail: `text ${Math.round(r.left)}–${Math.round(r.right)}, page 0–${width}`,
          });
      }
      if (block.clientWidth > 0 && block.scrollWidth > block.clientWidth + TOLERANCE)
        problems.push({
          problem: 'overflows',
          text: short,
          where: describe(block),
          detail: `scrollWidth ${block.scrollWidth} > clientWidth ${block.clientWidth}`,
        });
      for (let a: Element | null = el; a && a !== document.documentElement; a = a.parentElement) {
        const s = getComputedStyle(a);
        if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
        // A scrolling box (a wide table) shows all of its text by scrolling; a hidden overflow cuts it.
        if (s.overflowX === 'auto' || s.overflowX === 'scroll') continue;
        const clip = a.getBoundingClientRect();
        for (const r of rects)
          if (
            r.left < clip.left - TOLERANCE ||
            r.right > clip.right + TOLERANCE ||
            r.top < clip.top - 2 * TOLERANCE ||
            r.bottom > clip.bottom + 2 * TOLERANCE
          )
            problems.push({
              problem: 'clipped',
              text: short,
              where: describe(a),
              detail: `text ${Math.round(r.left)},${Math.round(r.top)}–${Math.round(r.right)},${Math.round(r.bottom)} in ${Math.round(clip.left)},${Math.round(clip.top)}–${Math.round(clip.right)},${Math.round(clip.bottom)}`,
            });
        break;
      }
    }
    // Two pieces of text over each other. Glyph boxes of adjacent lines may touch (tall scripts), so only an
    // overlap of more than a few pixels both ways counts.
    const OVERLAP = 3;
    for (let i = 0; i < texts.length; i++)
      for (let j = i + 1; j < texts.length; j++) {
        const a = texts[i]!;
        const b = texts[j]!;
        if (a.floating !== b.floating) continue;
        for (const ra of a.rects)
          for (const rb of b.rects) {
            const x = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
            const y = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
            if (x > OVERLAP && y > OVERLAP)
              problems.push({
                problem: 'overlaps',
                text: `${a.text.slice(0, 40)} / ${b.text.slice(0, 40)}`,
                where: `${describe(a.el)} / ${describe(b.el)}`,
                detail: `${Math.round(x)}×${Math.round(y)} px`,
              });
          }
      }
    return problems;
  }, root) as Promise<LayoutProblem[]>;
}

/** A readable list of layout problems for an assertion message. */
export function describeLayoutProblems(problems: LayoutProblem[]): string {
  return problems.map((p) => `${p.problem}: "${p.text}" in ${p.where} (${p.detail})`).join('\n');
}
