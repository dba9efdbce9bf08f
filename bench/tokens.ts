/**
 * Token figures, all with the real Llama 3 tokenizer and the local test server's own accounting
 * (`test/server/tokens.ts`): what Guardlens sent, what the page's visible text weighs, and what a naive client
 * would send.
 */

import { readChatRequest } from '../test/server/classify';
import type { RecordedRequest } from '../test/server/guard-server';
import { CHAT_TEMPLATE_OVERHEAD_TOKENS, countTokens } from '../test/server/tokens';

/** Requests that asked the model something (not the model list, not CORS preflight). */
export function isModelRequest(r: RecordedRequest): boolean {
  return r.method === 'POST' && (r.path === '/v1/chat/completions' || r.path === '/v1/completions');
}

/**
 * `usage.prompt_tokens` of a recorded request, as the test server computed it for its answer: the same
 * functions over the same body (chat: policy header + rendered turns; raw: the whole prompt).
 */
export async function promptTokensOf(r: RecordedRequest): Promise<number> {
  const body = r.body as { messages?: unknown; chat_template_kwargs?: unknown; prompt?: unknown };
  if (r.path === '/v1/completions') return typeof body?.prompt === 'string' ? countTokens(body.prompt) : 0;
  try {
    const reading = readChatRequest(body?.messages, body?.chat_template_kwargs);
    return CHAT_TEMPLATE_OVERHEAD_TOKENS + (await countTokens(reading.conversation));
  } catch {
    return 0; // the server refused it (400): no usage
  }
}

/** The paragraphs of `innerText`: its non-empty lines. */
export function paragraphsOf(innerText: string): string[] {
  return innerText
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

export interface TextTokens {
  /** Tokens of the page's visible text (`document.body.innerText`). */
  visible: number;
  paragraphs: number;
  /**
   * A naive client: one chat request per paragraph of `innerText`, each counted as the test server counts a
   * one-message request (policy header + `User: <paragraph>`).
   */
  naive: number;
}

export async function textTokens(innerText: string): Promise<TextTokens> {
  const paragraphs = paragraphsOf(innerText);
  let naive = 0;
  for (const p of paragraphs) naive += CHAT_TEMPLATE_OVERHEAD_TOKENS + (await countTokens(`User: ${p}\n\n`));
  return { visible: await countTokens(innerText), paragraphs: paragraphs.length, naive };
}
