/**
 * Test helper: renders the official Llama Guard chat templates (read-only reference material next to the
 * repository) with the jinja engine, the way a model server would, so the unit tests can compare Guardlens'
 * hand-written prompts with them byte for byte.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Template } from '@huggingface/jinja';
import { neutralize } from '../../../lib/guard/sanitize';
import type { ConversationTurn, GuardModelId } from '../../../lib/guard/types';

export const TEMPLATE_DIR = fileURLToPath(
  new URL('../../../../shared/llama-guard/templates/', import.meta.url),
);

export const TEMPLATE_FILES: Readonly<Record<GuardModelId, string>> = {
  'llama-guard-7b': 'LG1-LlamaGuard-7b.chat_template.jinja',
  'llama-guard-2-8b': 'LG2-Meta-Llama-Guard-2-8B.chat_template.jinja',
  'llama-guard-3-8b': 'LG3-8B.chat_template.jinja',
  'llama-guard-3-1b': 'LG3-1B.chat_template.jinja',
  'llama-guard-3-11b-vision': 'LG3-11B-Vision.chat_template.jinja',
  'llama-guard-4-12b': 'LG4-12B.RECONSTRUCTED.chat_template.jinja',
};

/** Templates that read plain-string content; the others want typed parts. */
const STRING_CONTENT: ReadonlySet<GuardModelId> = new Set([
  'llama-guard-7b',
  'llama-guard-2-8b',
  'llama-guard-3-8b',
]);

export const readReference = (file: string): string => readFileSync(TEMPLATE_DIR + file, 'utf8');

const compiled = new Map<GuardModelId, Template>();
function template(id: GuardModelId): Template {
  let t = compiled.get(id);
  if (!t) {
    t = new Template(readReference(TEMPLATE_FILES[id]));
    compiled.set(id, t);
  }
  return t;
}

export interface RenderOptions {
  excluded?: readonly string[];
  categories?: Readonly<Record<string, string>>;
  /** Put image parts before the text part (the templates must not care). */
  imagesFirst?: boolean;
  /** Skip `neutralize` (to render exactly the given text). */
  raw?: boolean;
}

/** Chat-template messages for `turns`: plain strings or typed parts, as the model's template expects. */
export function templateMessages(
  id: GuardModelId,
  turns: readonly ConversationTurn[],
  opts: RenderOptions = {},
) {
  return turns.map((turn) => {
    const text = opts.raw ? turn.text : neutralize(turn.text);
    if (STRING_CONTENT.has(id)) return { role: turn.role, content: text };
    const images = (turn.images ?? []).map(() => ({ type: 'image' }));
    const textPart = { type: 'text', text };
    return { role: turn.role, content: opts.imagesFirst ? [...images, textPart] : [textPart, ...images] };
  });
}

/** Renders the official template of `id` over the (neutralized) turns. */
export function renderOfficial(
  id: GuardModelId,
  turns: readonly ConversationTurn[],
  opts: RenderOptions = {},
) {
  const context: Record<string, unknown> = {
    messages: templateMessages(id, turns, opts),
    bos_token: id === 'llama-guard-7b' ? '<s>' : '<|begin_of_text|>',
    // Python's jinja treats an undefined list as empty; pass one explicitly.
    excluded_category_keys: [...(opts.excluded ?? [])],
  };
  if (opts.categories) context.categories = { ...opts.categories };
  return template(id).render(context);
}
