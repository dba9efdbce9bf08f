/**
 * Token accounting for the Guardlens test Llama Guard server, with the real Llama 3 tokenizer.
 *
 * The tokenizer bundle is about 3 MB and takes a good half second to load, so it is imported on
 * first use (the server starts at once; the first request pays the load).
 *
 * Llama 3 special tokens (`<|begin_of_text|>`, `<|eot_id|>`, …) are in the tokenizer's vocabulary.
 * Llama Guard 4 uses the Llama 4 ones (`<|header_start|>`, `<|eot|>`, `<|image|>`, …), which the
 * Llama 3 vocabulary lacks; each of those counts as one token, as it does for the model.
 */
import type { Llama3Tokenizer } from 'llama3-tokenizer-js';

/**
 * What the chat templates add around the conversation, in tokens: the task line, the category
 * list and the closing instructions. Renders of the Llama Guard 2–4 templates measure about
 * 200–230 tokens and Llama Guard 1's longer policy about 750, so one fixed figure of 300 stands
 * for "the policy header" in chat mode. The per-turn `User: ` / `Agent: ` framing is counted
 * with the message texts, not here.
 */
export const CHAT_TEMPLATE_OVERHEAD_TOKENS = 300;

let loading: Promise<Llama3Tokenizer> | undefined;

/** Loads the tokenizer once; later calls share the same promise. */
export function loadTokenizer(): Promise<Llama3Tokenizer> {
  loading ??= import('llama3-tokenizer-js').then((module) => module.default);
  return loading;
}

const SPECIAL_TOKEN = /<\|[a-z0-9_]+\|>/g;

/** Llama 4 special tokens that can appear in a Llama Guard 4 prompt or answer. */
const LLAMA4_SPECIAL_TOKENS = new Set([
  '<|begin_of_text|>',
  '<|end_of_text|>',
  '<|header_start|>',
  '<|header_end|>',
  '<|eot|>',
  '<|eom|>',
  '<|image|>',
  '<|image_start|>',
  '<|image_end|>',
  '<|patch|>',
  '<|tile_x_separator|>',
  '<|tile_y_separator|>',
  '<|python_start|>',
  '<|python_end|>',
]);

function isSpecialToken(tokenizer: Llama3Tokenizer, token: string): boolean {
  if (LLAMA4_SPECIAL_TOKENS.has(token)) return true;
  const id = tokenizer.vocabByString.get(token);
  return id !== undefined && id >= 128000;
}

function encodePlain(tokenizer: Llama3Tokenizer, text: string): number[] {
  return text === '' ? [] : tokenizer.encode(text, { bos: false, eos: false });
}

/** Number of tokens in `text`, with no begin/end-of-text tokens added. */
export async function countTokens(text: string): Promise<number> {
  const tokenizer = await loadTokenizer();
  let count = 0;
  let last = 0;
  for (const match of text.matchAll(SPECIAL_TOKEN)) {
    if (!isSpecialToken(tokenizer, match[0])) continue;
    count += encodePlain(tokenizer, text.slice(last, match.index)).length + 1;
    last = match.index + match[0].length;
  }
  return count + encodePlain(tokenizer, text.slice(last)).length;
}

/**
 * The model output as the pieces a streaming server would send, one per token. The pieces always
 * join back to `text`.
 */
export async function tokenPieces(text: string): Promise<string[]> {
  const tokenizer = await loadTokenizer();
  const pieces = encodePlain(tokenizer, text).map((id) => tokenizer.decode([id]));
  return pieces.join('') === text ? pieces : [text];
}

/** The first `maxTokens` tokens of `text`, and whether anything was cut. */
export async function truncateToTokens(
  text: string,
  maxTokens: number,
): Promise<{ text: string; truncated: boolean }> {
  const pieces = await tokenPieces(text);
  if (pieces.length <= maxTokens) return { text, truncated: false };
  return { text: pieces.slice(0, maxTokens).join(''), truncated: true };
}
