/**
 * Reads a Llama Guard model's answer into a Verdict.
 *
 * The answer is `safe`, or `unsafe` and optionally a line of comma-separated codes. Tolerated, because providers
 * and templates produce them: leading blank lines and whitespace, trailing end-of-turn tokens (`<|eot|>`,
 * `<|eot_id|>`, `</s>`…), trailing spaces, spaces around commas, any letter case, blank lines between the two
 * lines, Windows line endings. Everything else is a GuardOutputError, never "safe".
 */
import { GuardOutputError } from './errors';
import type { GuardModel, Verdict } from './types';

export interface ParseOptions {
  /** A replacement category table (code → template string), as sent in the prompt. */
  custom?: Readonly<Record<string, string>>;
}

/** End-of-turn / end-of-text markers a server may leave at the end of the answer. */
const END_TOKENS = ['<|eot_id|>', '<|eot|>', '<|end_of_text|>', '<|eom_id|>', '<|endoftext|>', '</s>'];

/** A hazard code as the models write it: S1…S14, O1…O6 (kept generic so unknown codes can be reported). */
const CODE_RE = /^[SO]\d{1,3}$/i;

function stripEndTokens(text: string): string {
  let out = text.replace(/\s+$/u, '');
  for (;;) {
    const lower = out.toLowerCase();
    const token = END_TOKENS.find((t) => lower.endsWith(t));
    if (!token) return out;
    out = out.slice(0, out.length - token.length).replace(/\s+$/u, '');
  }
}

function knownCodes(model: GuardModel, custom: Readonly<Record<string, string>> | undefined): Set<string> {
  const codes = new Set<string>();
  if (custom && Object.keys(custom).length > 0) {
    for (const code of Object.keys(custom)) codes.add(code.toUpperCase());
    return codes;
  }
  for (const c of model.categories) codes.add(c.code.toUpperCase());
  for (const c of model.imageCategories ?? []) codes.add(c.code.toUpperCase());
  return codes;
}

/**
 * Parses a model's output. Throws GuardOutputError for anything that is not a Llama Guard verdict; never
 * returns "safe" for text it does not understand.
 */
export function parseVerdict(output: string, model: GuardModel, opts: ParseOptions = {}): Verdict {
  if (typeof output !== 'string') throw new GuardOutputError(String(output), 'not text');
  const body = stripEndTokens(output).replace(/^\s+/u, '');
  if (!body) throw new GuardOutputError(output, 'empty answer');

  const lines = body
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const first = (lines[0] ?? '').toLowerCase();

  if (first === 'safe') {
    if (lines.length > 1) throw new GuardOutputError(output, '"safe" followed by more text');
    return { safe: true, categories: [], unknownCategories: [] };
  }
  if (first !== 'unsafe') throw new GuardOutputError(output, 'first line is neither "safe" nor "unsafe"');
  if (lines.length > 2) throw new GuardOutputError(output, 'more than two lines');
  if (lines.length === 1) return { safe: false, categories: [], unknownCategories: [] };

  const custom = opts.custom;
  const customKeys = new Map<string, string>();
  for (const key of Object.keys(custom ?? {})) customKeys.set(key.toUpperCase(), key);

  const tokens = (lines[1] as string).split(',').map((t) => t.trim());
  const categories: string[] = [];
  for (const token of tokens) {
    const upper = token.toUpperCase();
    if (!CODE_RE.test(token) && !customKeys.has(upper)) {
      throw new GuardOutputError(output, `"${token.slice(0, 40)}" is not a category code`);
    }
    const code = customKeys.get(upper) ?? upper;
    if (!categories.includes(code)) categories.push(code);
  }
  const known = knownCodes(model, custom);
  return {
    safe: false,
    categories,
    unknownCategories: categories.filter((c) => !known.has(c.toUpperCase())),
  };
}
