/**
 * Core types shared by every part of the Llama Guard core. Pure TypeScript:
 * nothing here may touch extension APIs, the DOM or Node built-ins.
 */

/** Registry ids, one per Llama Guard generation. A public contract: never rename. */
export const GUARD_MODEL_IDS = [
  'llama-guard-4-12b',
  'llama-guard-3-8b',
  'llama-guard-3-1b',
  'llama-guard-3-11b-vision',
  'llama-guard-2-8b',
  'llama-guard-7b',
] as const;
export type GuardModelId = (typeof GUARD_MODEL_IDS)[number];

export interface HazardCategory {
  /** Code the model answers with: `S1`…`S14`, or `O1`…`O6` for Llama Guard 1. */
  code: string;
  /** The exact string the official template writes after `CODE: ` (e.g. "Sex Crimes."). */
  promptName: string;
  /** The model card's name, shown to people (e.g. "Sex-Related Crimes"). */
  name: string;
  /** One line for people. */
  description: string;
}

/** How the official template wants message content. */
export type ContentShape = 'string' | 'parts';

export interface GuardModel {
  id: GuardModelId;
  /** Human name, e.g. "Llama Guard 4 12B". */
  label: string;
  generation: 1 | 2 | 3 | 4;
  categories: readonly HazardCategory[];
  /** Categories the template uses when an image is present, if they differ (Llama Guard 4: S1–S13). */
  imageCategories?: readonly HazardCategory[];
  /** 0: text only; 1: one image per request; larger: that many at most. */
  maxImages: number;
  /** Context window in tokens, as providers commonly serve it. */
  contextWindow: number;
  /** The template accepts a `categories` override. */
  customCategories: boolean;
  /** The template accepts `excluded_category_keys`. */
  excludedCategories: boolean;
  contentShape: ContentShape;
}

export type Role = 'user' | 'assistant';

/** One turn of the conversation to classify. Images are `data:` URLs (or any URL the endpoint can read). */
export interface ConversationTurn {
  role: Role;
  text: string;
  images?: string[];
}

export interface PromptOptions {
  /** Category codes to leave out (templates that accept them). */
  excluded?: readonly string[];
  /** Replacement category table: code → template string, e.g. `{ "S1": "Violent Crimes." }`. */
  categories?: Readonly<Record<string, string>>;
}

export interface Verdict {
  safe: boolean;
  /** Codes the model reported, in its order, de-duplicated. */
  categories: string[];
  /** Codes that are not in the model's (or the custom) category table; kept, and marked here. */
  unknownCategories: string[];
}
