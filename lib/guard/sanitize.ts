/**
 * Neutralizes untrusted text (page text, prompts, alt text) before it is written into a Llama Guard prompt.
 *
 * What `neutralize` does, in order:
 * 1. Non-strings become ''. Lone UTF-16 surrogates become U+FFFD, so the text always encodes.
 * 2. Line endings: CRLF and lone CR become LF.
 * 3. Control characters are removed: C0 (NUL included) except TAB and LF, DEL, and C1 (U+0080–U+009F, which
 *    holds NEL, a line break to some tokenizers and trim functions).
 * 4. Unicode NFC normalization.
 * 5. Control tokens and template markers are broken by swapping their ASCII brackets for full-width ones,
 *    which no tokenizer maps to a special token and which stay readable to the classifier:
 *    - any special token `<|…|>` (`<|eot_id|>`, `<|header_start|>`, `<|image|>`,
 *      `<|reserved_special_token_7|>`, …; also with spaces inside the brackets) → `＜|eot_id|＞`
 *    - Llama 2 tokens `<s>`, `</s>`, `<unk>` → `＜s＞`, `＜/s＞`, `＜unk＞`; `<<SYS>>`, `<</SYS>>` → `＜＜SYS＞＞`…
 *    - `[INST]`, `[/INST]` → `［INST］`, `［/INST］`
 *    - `<BEGIN CONVERSATION>`, `<END CONVERSATION>`, `<BEGIN UNSAFE CONTENT CATEGORIES>`,
 *      `<END UNSAFE CONTENT CATEGORIES>` (any case, any whitespace, closing `>` optional) → `＜END CONVERSATION＞`
 *    All of these match case-insensitively.
 * 6. Fake turns: the templates separate turns with a blank line followed by `User: ` or `Agent: `. A line that
 *    starts with `User:` or `Agent:` (any case, spaces allowed before and before the colon) right after a blank
 *    line gets a full-width colon: `Agent：`.
 *
 * The result is idempotent, equal to the input for ordinary text (any script, emoji) and it never throws.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const CARRIAGE_RETURN = /\r\n?/g;
const CONTROL = /[\x00-\x08\x0B-\x1F\x7F-\x9F]/g;

const MARKER = /<(\s*(?:BEGIN|END)\s+(?:CONVERSATION|UNSAFE\s+CONTENT\s+CATEGORIES)\s*)(>?)/gi;
const SYS = /(<+)(\s*\/?\s*SYS\s*)(>+)/gi;
const LLAMA2_TOKEN = /<(\s*\/?\s*(?:s|unk)\s*)>/gi;
const INST = /\[(\s*\/?\s*INST\s*)\]/gi;
/** Runs last: earlier swaps can turn a bracket inside `<|…|>` into a full-width one and so complete a match. */
const SPECIAL_TOKEN = /<([^\S\n]*\|[^<>|\n]*\|[^\S\n]*)>/g;
const FAKE_TURN = /(?<=\n[^\S\n]*\n[^\S\n]*)(user|agent)([^\S\n]*):/gi;

const wide = (brackets: string): string =>
  brackets.replace(/[<>[\]]/g, (c) => ({ '<': '＜', '>': '＞', '[': '［', ']': '］' })[c] ?? c);

function breakTokens(text: string): string {
  return text
    .replace(MARKER, (_, inner: string, close: string) => `＜${inner}${close ? '＞' : ''}`)
    .replace(SYS, (_, open: string, inner: string, close: string) => `${wide(open)}${inner}${wide(close)}`)
    .replace(LLAMA2_TOKEN, '＜$1＞')
    .replace(INST, '［$1］')
    .replace(SPECIAL_TOKEN, '＜$1＞')
    .replace(FAKE_TURN, '$1$2：');
}

export function neutralize(text: string): string {
  if (typeof text !== 'string') return '';
  let out = text
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(CARRIAGE_RETURN, '\n')
    .replace(CONTROL, '')
    .normalize('NFC');
  // Each pass only turns ASCII characters into full-width ones, so this ends; one pass is the usual case.
  for (let prev = ''; prev !== out; ) {
    prev = out;
    out = breakTokens(out);
  }
  return out;
}
