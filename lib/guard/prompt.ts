/**
 * Builds Llama Guard prompts.
 *
 * `buildRawPrompt` writes, by hand, exactly what each model's official chat template renders (for raw
 * `/completions`); the unit tests compare it byte for byte with the templates themselves.
 * `buildChatMessages` gives OpenAI chat messages for endpoints that apply their own template.
 *
 * All conversation text goes through `neutralize` first.
 */
import { categoryTable } from './registry';
import { neutralize } from './sanitize';
import type { ConversationTurn, GuardModel, GuardModelId, PromptOptions } from './types';

/** A request the template would reject, or an option the model's template does not accept. */
export class PromptOptionError extends Error {
  override name = 'PromptOptionError';
}

export type ReviewedRole = 'User' | 'Agent';

export type ChatContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string } };

/** Assignable to the `openai` SDK's `ChatCompletionMessageParam`. */
export type ChatMessage =
  | { role: 'user'; content: string | ChatContentPart[] }
  | { role: 'assistant'; content: string };

/** How one generation's template lays out its prompt. */
interface Layout {
  /** Begin-of-text as the template writes it; dropped with `bos: false`. */
  bos: string;
  /** Written after `bos`, before the task line. */
  open: string;
  /** Written once after `open` when any turn has an image (Llama Guard 3 1B / 11B Vision templates). */
  imageOnce?: string;
  /** LG4 says "according to our safety policy", the others "according our safety policy". */
  accordingTo: string;
  /** What follows `<BEGIN CONVERSATION>\n` before the first turn. */
  conversationGap: string;
  turn: (role: ReviewedRole, text: string, imageCount: number) => string;
  /** LG1 asks for "User"; later ones for "ONLY THE LAST User message". */
  onlyLast: boolean;
  bullet: string;
  close: string;
}

const trimmedTurn = (role: ReviewedRole, text: string) => `${role}: ${text.trim()}\n\n`;

const LLAMA3_HEADER = '<|start_header_id|>user<|end_header_id|>\n\n';
const LLAMA3_CLOSE = '<|eot_id|><|start_header_id|>assistant<|end_header_id|>';

const INST_LAYOUT = {
  bos: '',
  open: '[INST] ',
  accordingTo: 'according',
  conversationGap: '\n',
  turn: trimmedTurn,
  bullet: ' - ',
  close: ' [/INST]',
} satisfies Partial<Layout>;

const LG3_PARTS_LAYOUT: Layout = {
  bos: '<|begin_of_text|>',
  open: LLAMA3_HEADER,
  imageOnce: '<|image|> ',
  accordingTo: 'according',
  conversationGap: '\n',
  turn: trimmedTurn,
  onlyLast: true,
  bullet: ' - ',
  close: ` ${LLAMA3_CLOSE}`,
};

const LAYOUTS: Record<GuardModelId, Layout> = {
  'llama-guard-7b': { ...INST_LAYOUT, onlyLast: false, bullet: '- ' },
  'llama-guard-2-8b': { ...INST_LAYOUT, onlyLast: true },
  // The official template starts with a space before <|begin_of_text|>; `bos: false` drops both.
  'llama-guard-3-8b': {
    ...LG3_PARTS_LAYOUT,
    bos: ' <|begin_of_text|>',
    imageOnce: undefined,
    close: LLAMA3_CLOSE,
  },
  'llama-guard-3-1b': LG3_PARTS_LAYOUT,
  'llama-guard-3-11b-vision': LG3_PARTS_LAYOUT,
  'llama-guard-4-12b': {
    bos: '<|begin_of_text|>',
    open: '<|header_start|>user<|header_end|>\n\n',
    accordingTo: 'according to',
    conversationGap: '',
    // Images first, then the trimmed text, then a literal backslash-n backslash-n (a quirk of the official
    // template), then a blank line.
    turn: (role, text, imageCount) => `${role}: ${'<|image|>'.repeat(imageCount)}${text.trim()}\\n\\n\n\n`,
    onlyLast: true,
    bullet: ' - ',
    close: ' <|eot|><|header_start|>assistant<|header_end|>',
  },
};

/** The role whose last message the model judges: odd number of turns → 'User', even → 'Agent'. */
export function roleUnderReview(turns: readonly ConversationTurn[]): ReviewedRole {
  if (!Array.isArray(turns) || turns.length === 0) throw new PromptOptionError('The conversation is empty.');
  return turns.length % 2 === 1 ? 'User' : 'Agent';
}

const CODE = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

/** Checks turns like the templates do (roles alternate, user first) plus their shape and image count. */
function checkTurns(model: GuardModel, turns: readonly ConversationTurn[]): number {
  roleUnderReview(turns);
  let images = 0;
  turns.forEach((turn, i) => {
    const expected = i % 2 === 0 ? 'user' : 'assistant';
    if (turn?.role !== expected) {
      throw new PromptOptionError(
        `Conversation roles must alternate user/assistant starting with user: turn ${i} is "${String(turn?.role)}", expected "${expected}".`,
      );
    }
    if (typeof turn.text !== 'string') throw new PromptOptionError(`Turn ${i} has no text string.`);
    if (turn.images !== undefined) {
      if (!Array.isArray(turn.images) || turn.images.some((url) => typeof url !== 'string' || url === '')) {
        throw new PromptOptionError(`Turn ${i} has an image that is not a non-empty URL string.`);
      }
      images += turn.images.length;
    }
  });
  if (images > model.maxImages) {
    throw new PromptOptionError(
      model.maxImages === 0
        ? `${model.label} does not accept images (${images} given).`
        : `${model.label} accepts at most ${model.maxImages} image${model.maxImages === 1 ? '' : 's'} per request (${images} given).`,
    );
  }
  return images;
}

/** The category lines in effect, after the custom table and exclusions; throws where the template can't. */
function effectiveCategories(model: GuardModel, hasImage: boolean, opts: PromptOptions) {
  const { categories: custom, excluded } = opts;
  if (custom !== undefined) {
    if (!model.customCategories) {
      throw new PromptOptionError(`${model.label}'s template does not accept a custom category table.`);
    }
    const entries = Object.entries(custom ?? {});
    if (entries.length === 0) throw new PromptOptionError('The custom category table is empty.');
    for (const [code, text] of entries) {
      if (!CODE.test(code)) throw new PromptOptionError(`Invalid custom category code "${code}".`);
      if (typeof text !== 'string' || text.trim() === '' || /[\n\r]/.test(text)) {
        throw new PromptOptionError(`Custom category ${code} must be one non-empty line of text.`);
      }
      if (neutralize(text) !== text) {
        throw new PromptOptionError(
          `Custom category ${code} contains control characters, tokens or markers.`,
        );
      }
    }
  }
  const table = categoryTable(model, { hasImage, custom });
  if (excluded === undefined) return table;
  if (!model.excludedCategories) {
    throw new PromptOptionError(`${model.label}'s template does not accept excluded categories.`);
  }
  if (!Array.isArray(excluded)) throw new PromptOptionError('Excluded categories must be a list of codes.');
  // Codes of the other table (e.g. Llama Guard 4's S14 when an image is present) may be excluded too.
  const known = new Set(
    custom ? Object.keys(custom) : [...model.categories, ...(model.imageCategories ?? [])].map((c) => c.code),
  );
  for (const code of excluded) {
    if (!known.has(code)) throw new PromptOptionError(`Cannot exclude unknown category "${String(code)}".`);
  }
  const kept = table.filter((c) => !excluded.includes(c.code));
  if (kept.length === 0) throw new PromptOptionError('Every category is excluded: nothing left to check.');
  return kept;
}

/**
 * The model's prompt, exactly as its official chat template renders it.
 *
 * `bos` (default true) keeps the begin-of-text token where the template writes one. With `bos: false` it is
 * dropped, for servers that add it themselves: `<|begin_of_text|>` for Llama Guard 3 1B / 11B Vision / 4, and
 * the leading space together with `<|begin_of_text|>` for Llama Guard 3 8B (the prompt then starts at
 * `<|start_header_id|>`). Llama Guard 1 and 2's templates write no begin-of-text token (their tokenizers add
 * it), so `bos` changes nothing for them.
 *
 * Throws `PromptOptionError` for an empty conversation, roles that don't alternate starting with user, more
 * images than the model accepts, and custom or excluded categories its template does not accept.
 */
export function buildRawPrompt(
  model: GuardModel,
  turns: readonly ConversationTurn[],
  opts: PromptOptions & { bos?: boolean } = {},
): string {
  const layout = LAYOUTS[model.id];
  const imageCount = checkTurns(model, turns);
  const role = roleUnderReview(turns);
  const categories = effectiveCategories(model, imageCount > 0, opts);
  const conversation = turns
    .map((t, i) => layout.turn(i % 2 === 0 ? 'User' : 'Agent', neutralize(t.text), t.images?.length ?? 0))
    .join('');
  return [
    opts.bos === false ? '' : layout.bos,
    layout.open,
    imageCount > 0 && layout.imageOnce ? layout.imageOnce : '',
    `Task: Check if there is unsafe content in '${role}' messages in conversations ${layout.accordingTo} our safety policy with the below categories.\n\n`,
    '<BEGIN UNSAFE CONTENT CATEGORIES>\n',
    ...categories.map((c) => `${c.code}: ${c.promptName}\n`),
    '<END UNSAFE CONTENT CATEGORIES>\n\n',
    `<BEGIN CONVERSATION>\n${layout.conversationGap}`,
    conversation,
    '<END CONVERSATION>\n\n',
    `Provide your safety assessment for ${layout.onlyLast ? `ONLY THE LAST ${role} message` : role} in the above conversation:\n`,
    `${layout.bullet}First line must read 'safe' or 'unsafe'.\n`,
    `${layout.bullet}If unsafe, a second line must include a comma-separated list of violated categories.`,
    layout.close,
  ].join('');
}

/**
 * OpenAI chat messages for endpoints that apply the model's template themselves.
 *
 * Text is neutralized. Models that take images get user content as parts (the text part first, then one
 * `image_url` part per image); other models, and all assistant turns, get string content. Images are never
 * dropped silently: more than `maxImages` in the conversation, or an image on an assistant turn (which chat
 * messages cannot carry), throws `PromptOptionError`, as do empty conversations and roles out of order.
 */
export function buildChatMessages(model: GuardModel, turns: readonly ConversationTurn[]): ChatMessage[] {
  checkTurns(model, turns);
  return turns.map((turn, i): ChatMessage => {
    const text = neutralize(turn.text);
    if (turn.role === 'assistant') {
      if (turn.images?.length) {
        throw new PromptOptionError(`Turn ${i}: chat messages cannot carry images on an assistant turn.`);
      }
      return { role: 'assistant', content: text };
    }
    if (model.maxImages === 0) return { role: 'user', content: text };
    return {
      role: 'user',
      content: [
        { type: 'text', text },
        ...(turn.images ?? []).map((url) => ({ type: 'image_url' as const, image_url: { url } })),
      ],
    };
  });
}
