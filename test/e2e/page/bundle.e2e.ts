/**
 * The content scripts load into every page, so what they carry matters: the built page and chatbot scripts hold
 * only their own code, not the options page's texts (settings problems, endpoint error sentences) that an
 * auto-import or a stray value import would pull in with their start-up work, nor the promise polyfill
 * (`utils/page-api.ts`) or WXT's content-script context that announces itself to the page
 * (`utils/content-context.ts`) — together about 4.5 ms of every frame's main thread — and they stay within a
 * size budget.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BROWSER_NAMES } from '../harness';
import { buildDir } from './helpers';

/**
 * Bytes each built content script may take (the page script is at about 45.3 KB, the chatbot script at 49 KB). The
 * page script's went from 46 000 to 47 000 with the early send of what is in view and the strings that come with
 * the page configuration (together about 0.8 KB).
 */
const BUDGET: Record<string, number> = { 'content.js': 47_000, 'chatbot.js': 52_000 };

/** Texts that belong to the extension's pages and background, never to a content script. */
const FOREIGN = [
  'settings_problem_field', // lib/settings/problem-text.ts
  'Setting "$1" $2; $3.',
  'must be one of $1', // settings reasons
  'OLLAMA_ORIGINS', // lib/guard/errors.ts hints
  'This script should only be loaded in a browser extension', // webextension-polyfill
  'wxt:content-script-started', // WXT's context announcing a script to the page
];

describe.each(BROWSER_NAMES)('content script bundles: %s', (name) => {
  for (const file of Object.keys(BUDGET)) {
    it(`${file} stays small and carries none of the options page's texts`, () => {
      const code = readFileSync(path.join(buildDir(name), 'content-scripts', file), 'utf8');
      expect(Buffer.byteLength(code)).toBeLessThan(BUDGET[file]!);
      for (const text of FOREIGN) expect(code, `${file} contains ${text}`).not.toContain(text);
    });
  }
});
