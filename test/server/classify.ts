/**
 * What the Guardlens test Llama Guard server classifies, and how it decides.
 *
 * Chat mode reads OpenAI-style `messages` the way the official chat templates do; raw mode parses a
 * rendered Llama Guard prompt on its own (independently of the extension's prompt builder, so a
 * client that renders prompts wrongly shows up here). The verdict comes from trigger phrases and
 * image markers, never from a model.
 */

/** A phrase that, found in the classified turn (case-insensitive), makes the server report `categories`. */
export interface TriggerRule {
  phrase: string;
  categories: string[];
}

const DEFAULT_CODES = [
  ...Array.from({ length: 14 }, (_, i) => `S${i + 1}`),
  ...Array.from({ length: 6 }, (_, i) => `O${i + 1}`),
];

/** One rule per code: `GLTEST-S1` → `['S1']` … `GLTEST-S14`, `GLTEST-O1` … `GLTEST-O6`. */
export const DEFAULT_RULES: TriggerRule[] = DEFAULT_CODES.map((code) => ({
  phrase: `GLTEST-${code}`,
  categories: [code],
}));

/** The answer a model gives to a prompt that is not a Llama Guard prompt. */
export const ORDINARY_REPLY =
  "I'm not sure what you mean. Could you tell me a little more about what you need?";

/** A request the server refuses, as a provider would: HTTP status plus an OpenAI-shaped error. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

export type GuardRole = 'User' | 'Agent';

/** What a request asks to classify. */
export interface Classification {
  role: GuardRole;
  /** Text of the classified turn only. */
  text: string;
  imageCount: number;
  /** Codes carried by image markers (`GLIMG-S1` …) in the classified turn, in order. */
  imageCodes: string[];
  /** Codes the prompt offers; `undefined` means "whatever the model knows" (no filtering). */
  allowedCodes?: ReadonlySet<string>;
  /** What looks wrong in a rendered prompt (raw mode only). */
  warnings: string[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Rules and markers

/**
 * Whether `phrase` occurs in `text`, ignoring case. A phrase that ends in a digit does not match
 * where the text goes on with another digit, so `GLTEST-S1` does not fire inside `GLTEST-S10`.
 */
export function phraseOccurs(text: string, phrase: string): boolean {
  if (phrase === '') return false;
  const haystack = text.toLowerCase();
  const needle = phrase.toLowerCase();
  const endsWithDigit = /[0-9]$/.test(needle);
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) {
    const next = haystack.charAt(at + needle.length);
    if (!endsWithDigit || !/[0-9]/.test(next)) return true;
  }
  return false;
}

const IMAGE_MARKER = /GLIMG-([SO][0-9]{1,2})(?![0-9])/g;

/** Codes of the `GLIMG-…` markers found in an image's bytes, in order of appearance. */
export function imageMarkerCodes(bytes: Uint8Array): string[] {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  return [...text.matchAll(IMAGE_MARKER)].map((match) => match[1]!);
}

/** The codes to report: matching rules in rule order, then image markers; de-duplicated and filtered. */
export function decideCodes(classification: Classification, rules: readonly TriggerRule[]): string[] {
  const codes: string[] = [];
  const add = (code: string) => {
    if (codes.includes(code)) return;
    if (classification.allowedCodes && !classification.allowedCodes.has(code)) return;
    codes.push(code);
  };
  for (const rule of rules) {
    if (phraseOccurs(classification.text, rule.phrase)) rule.categories.forEach(add);
  }
  classification.imageCodes.forEach(add);
  return codes;
}

/** The model's answer text for a list of codes. */
export function formatVerdict(codes: readonly string[], style: 'plain' | 'quirky'): string {
  if (style === 'plain') return codes.length === 0 ? 'safe' : `unsafe\n${codes.join(',')}`;
  const body = codes.length === 0 ? 'safe' : `unsafe\n${codes.join(', ')}`;
  return `\n\n${body}<|eot_id|>`;
}

// ---------------------------------------------------------------------------------------------
// Chat mode

/** A decoded `data:` URL's bytes; `undefined` for any other URL. */
export function decodeDataUrl(url: string): Uint8Array | undefined {
  if (!/^data:/i.test(url)) return undefined;
  const comma = url.indexOf(',');
  if (comma === -1)
    throw new RequestError(400, 'Invalid image URL: a data: URL needs a comma.', 'invalid_image_url');
  const meta = url.slice(5, comma);
  const payload = url.slice(comma + 1);
  if (/;base64$/i.test(meta)) {
    const compact = payload.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(compact)) {
      throw new RequestError(
        400,
        'Invalid image URL: the data: URL is not valid base64.',
        'invalid_image_url',
      );
    }
    return new Uint8Array(Buffer.from(compact, 'base64'));
  }
  try {
    return new TextEncoder().encode(decodeURIComponent(payload));
  } catch {
    throw new RequestError(
      400,
      'Invalid image URL: bad percent-encoding in the data: URL.',
      'invalid_image_url',
    );
  }
}

interface ChatMessageContent {
  role: 'user' | 'assistant';
  text: string;
  images: Uint8Array[] /* decoded data: URLs */;
  imageCount: number;
}

function readMessage(message: unknown, index: number): ChatMessageContent {
  const param = `messages[${index}]`;
  if (!isObject(message)) throw new RequestError(400, `${param} must be an object.`, 'invalid_type', param);
  const { role, content } = message;
  if (role !== 'user' && role !== 'assistant') {
    throw new RequestError(
      400,
      `${param}.role must be 'user' or 'assistant' for a Llama Guard model (got ${JSON.stringify(role)}).`,
      'invalid_value',
      `${param}.role`,
    );
  }
  if (typeof content === 'string') return { role, text: content, images: [], imageCount: 0 };
  if (!Array.isArray(content)) {
    throw new RequestError(
      400,
      `${param}.content must be a string or an array of content parts.`,
      'invalid_type',
      `${param}.content`,
    );
  }
  const texts: string[] = [];
  const images: Uint8Array[] = [];
  let imageCount = 0;
  content.forEach((part, partIndex) => {
    const partParam = `${param}.content[${partIndex}]`;
    if (isObject(part) && part.type === 'text' && typeof part.text === 'string') {
      texts.push(part.text);
    } else if (isObject(part) && part.type === 'image_url') {
      const url = isObject(part.image_url) ? part.image_url.url : undefined;
      if (typeof url !== 'string' || url === '') {
        throw new RequestError(
          400,
          `${partParam}.image_url must be an object with a url.`,
          'invalid_type',
          `${partParam}.image_url`,
        );
      }
      imageCount += 1;
      const bytes = decodeDataUrl(url);
      if (bytes) images.push(bytes);
    } else {
      throw new RequestError(
        400,
        `${partParam} must be a {type: 'text', text} or {type: 'image_url', image_url: {url}} part.`,
        'invalid_value',
        partParam,
      );
    }
  });
  return { role, text: texts.join('\n'), images, imageCount };
}

/** The `User: …` / `Agent: …` lines the template renders, for token accounting. */
export function chatConversationText(
  messages: readonly { role: 'user' | 'assistant'; text: string }[],
): string {
  return messages.map((m) => `${m.role === 'user' ? 'User' : 'Agent'}: ${m.text.trim()}\n\n`).join('');
}

/** Reads `chat_template_kwargs` (`categories`, `excluded_category_keys`) as vLLM-style servers accept them. */
function templateCodes(kwargs: unknown): ReadonlySet<string> | undefined {
  if (kwargs === undefined || kwargs === null) return undefined;
  if (!isObject(kwargs)) {
    throw new RequestError(
      400,
      'chat_template_kwargs must be an object.',
      'invalid_type',
      'chat_template_kwargs',
    );
  }
  const { categories, excluded_category_keys: excluded } = kwargs;
  if (categories === undefined && excluded === undefined) return undefined;
  if (categories !== undefined && !isObject(categories)) {
    throw new RequestError(
      400,
      'chat_template_kwargs.categories must map codes to names.',
      'invalid_type',
      'chat_template_kwargs.categories',
    );
  }
  if (excluded !== undefined && !(Array.isArray(excluded) && excluded.every((k) => typeof k === 'string'))) {
    throw new RequestError(
      400,
      'chat_template_kwargs.excluded_category_keys must be an array of codes.',
      'invalid_type',
      'chat_template_kwargs.excluded_category_keys',
    );
  }
  const offered = categories ? Object.keys(categories) : DEFAULT_CODES;
  const left = new Set(excluded ?? []);
  return new Set(offered.filter((code) => !left.has(code)));
}

export interface ChatRequestReading {
  classification: Classification;
  /** The conversation as the template would render it (for token accounting). */
  conversation: string;
}

/**
 * Reads `messages` like the official templates: roles alternate user/assistant starting with
 * user; an odd count classifies the last user message, an even count the last assistant message.
 */
export function readChatRequest(messagesValue: unknown, templateKwargs?: unknown): ChatRequestReading {
  if (messagesValue === undefined) {
    throw new RequestError(
      400,
      'Missing required parameter: messages.',
      'missing_required_parameter',
      'messages',
    );
  }
  if (!Array.isArray(messagesValue)) {
    throw new RequestError(400, 'messages must be an array.', 'invalid_type', 'messages');
  }
  if (messagesValue.length === 0) {
    throw new RequestError(400, 'messages must contain at least one message.', 'invalid_value', 'messages');
  }
  const messages = messagesValue.map(readMessage);
  messages.forEach((message, index) => {
    if ((message.role === 'user') !== (index % 2 === 0)) {
      throw new RequestError(
        400,
        'Conversation roles must alternate user/assistant/user/assistant/...',
        'invalid_value',
        'messages',
      );
    }
  });
  const last = messages[messages.length - 1]!;
  return {
    classification: {
      role: messages.length % 2 === 1 ? 'User' : 'Agent',
      text: last.text,
      imageCount: last.imageCount,
      imageCodes: last.images.flatMap(imageMarkerCodes),
      allowedCodes: templateCodes(templateKwargs),
      warnings: [],
    },
    conversation: chatConversationText(messages),
  };
}

// ---------------------------------------------------------------------------------------------
// Raw mode

export interface PromptTurn {
  role: GuardRole;
  text: string;
  imageCount: number;
}

export interface ParsedGuardPrompt {
  /** From the `Task: Check if there is unsafe content in '…' messages` line. */
  role: GuardRole;
  /** Codes in the prompt's category list, in order. */
  categories: string[];
  turns: PromptTurn[];
  /** `<|image|>` tokens anywhere in the prompt. */
  imageCount: number;
  /** The last turn of `role`. */
  classified: PromptTurn;
  warnings: string[];
}

const TASK_LINE = /Task: Check if there is unsafe content in '(User|Agent)' messages/;
const BEGIN_CATEGORIES = '<BEGIN UNSAFE CONTENT CATEGORIES>';
const END_CATEGORIES = '<END UNSAFE CONTENT CATEGORIES>';
const BEGIN_CONVERSATION = '<BEGIN CONVERSATION>';
const END_CONVERSATION = '<END CONVERSATION>';
const IMAGE_TOKEN = '<|image|>';
const CONTROL_TOKEN = /<\|[a-z0-9_]+\|>|\[\/?INST\]/;

function cleanTurnText(raw: string): { text: string; imageCount: number } {
  const imageCount = raw.split(IMAGE_TOKEN).length - 1;
  // Llama Guard 4's template writes a literal backslash-n backslash-n after each message.
  const text = raw
    .split(IMAGE_TOKEN)
    .join('')
    .replace(/(?:\\n|\s)+$/, '')
    .trim();
  return { text, imageCount };
}

/**
 * Parses a rendered Llama Guard prompt (any generation's layout). Returns `undefined` when the
 * text is not a Llama Guard prompt: no task line, no category list, no conversation block, or no
 * turn of the role the task names.
 */
export function parseGuardPrompt(prompt: string): ParsedGuardPrompt | undefined {
  const task = TASK_LINE.exec(prompt);
  const categoriesStart = prompt.indexOf(BEGIN_CATEGORIES);
  const categoriesEnd = prompt.indexOf(END_CATEGORIES, categoriesStart);
  if (!task || categoriesStart === -1 || categoriesEnd === -1) return undefined;
  const categories = [
    ...prompt
      .slice(categoriesStart + BEGIN_CATEGORIES.length, categoriesEnd)
      .matchAll(/^([A-Z][0-9]{1,2}): /gm),
  ].map((match) => match[1]!);

  const conversationStart = prompt.indexOf(BEGIN_CONVERSATION, categoriesEnd);
  const conversationEnd = prompt.lastIndexOf(END_CONVERSATION);
  if (conversationStart === -1 || conversationEnd < conversationStart) return undefined;
  const conversation = prompt.slice(conversationStart + BEGIN_CONVERSATION.length, conversationEnd);

  const warnings: string[] = [];
  if (conversation.includes(BEGIN_CONVERSATION) || conversation.includes(END_CONVERSATION)) {
    warnings.push('A conversation marker appears inside the conversation.');
  }
  const pieces = conversation.split(/(?:^|\n)(User|Agent): /);
  if (pieces[0]!.trim() !== '') warnings.push('Text before the first turn.');
  const turns: PromptTurn[] = [];
  for (let i = 1; i < pieces.length; i += 2) {
    turns.push({ role: pieces[i] as GuardRole, ...cleanTurnText(pieces[i + 1] ?? '') });
  }

  const role = task[1] as GuardRole;
  const classified = turns.findLast((turn) => turn.role === role);
  if (!classified) return undefined;

  if (turns.some((turn, index) => (turn.role === 'User') !== (index % 2 === 0))) {
    warnings.push('Turns do not alternate User/Agent starting with User.');
  }
  if (turns[turns.length - 1]!.role !== role) warnings.push(`The last turn is not a ${role} turn.`);
  if ((turns.length % 2 === 1 ? 'User' : 'Agent') !== role) {
    warnings.push(
      `The task names ${role} but the number of turns (${turns.length}) calls for the other role.`,
    );
  }
  if (turns.some((turn) => CONTROL_TOKEN.test(turn.text))) {
    warnings.push('A control token appears inside a turn.');
  }
  return {
    role,
    categories,
    turns,
    imageCount: prompt.split(IMAGE_TOKEN).length - 1,
    classified,
    warnings,
  };
}

/** The classification a parsed raw prompt asks for: its category list is what may be reported. */
export function rawClassification(parsed: ParsedGuardPrompt): Classification {
  return {
    role: parsed.role,
    text: parsed.classified.text,
    imageCount: parsed.imageCount,
    imageCodes: [],
    allowedCodes: new Set(parsed.categories),
    warnings: parsed.warnings,
  };
}
