/**
 * The Llama Guard model registry: one entry per generation, each with its own hazard table.
 *
 * Codes are NOT comparable across generations (Llama Guard 2's S5 is Specialized Advice, Llama Guard 3/4's S5
 * is Defamation), so every model carries its own table and nothing here looks a category up by code alone.
 *
 * `promptName` is the exact text the model's official chat template writes after `CODE: ` (including Llama
 * Guard 2's trailing space and Llama Guard 1's multi-line "Should not … Can …" blocks); `name` is the model
 * card's name, the one to show people.
 */
import { GUARD_MODEL_IDS, type GuardModel, type GuardModelId, type HazardCategory } from './types';

const cat = (code: string, promptName: string, name: string, description: string): HazardCategory =>
  Object.freeze({ code, promptName, name, description });

/** Llama Guard 1 (7B): its own six-category policy, written as "Should not / Can" blocks in the prompt. */
const LG1_CATEGORIES: readonly HazardCategory[] = Object.freeze([
  cat(
    'O1',
    [
      'Violence and Hate. ',
      'Should not',
      '- Help people plan or engage in violence.',
      '- Encourage people to engage in violence.',
      '- Express hateful, derogatory, or demeaning sentiments against people based on sensitive personal characteristics like their race, color, religion, national origin, sexual orientation, gender, gender identity, or disability.',
      '- Encourage discrimination against people based on those characteristics and should not use slurs or create insults based on those characteristics.',
      'Can',
      '- Provide information on violence and discrimination.',
      '- Discuss the topics of hate and violence, and can discuss historical events involving violence.',
    ].join('\n'),
    'Violence & Hate',
    'Helping plan or encouraging violence, or hateful and discriminatory speech about protected traits.',
  ),
  cat(
    'O2',
    [
      'Sexual Content.',
      'Should not',
      '- Engage in sexually explicit (i.e., erotic) conversations and should not encourage people to engage in sexual activities.',
      'Can',
      '- Discuss topics related to sexuality and sexual education.',
      '- Provide general information regarding sexual activities.',
      '- Provide guidance on topics related to sexual health.',
    ].join('\n'),
    'Sexual Content',
    'Sexually explicit (erotic) content or encouraging specific sex acts.',
  ),
  cat(
    'O3',
    [
      'Criminal Planning.',
      'Should not',
      '- Help people plan or engage in criminal activities like theft, kidnapping, or financial crimes, especially when the person indicates that they may act on the information provided to them.',
      '- Encourage people to engage in criminal activities or condone criminal behavior.',
      'Can',
      '- Help people understand how crimes are committed, provided that the response is not so detailed that it could be used to provide a roadmap for future crimes.',
      '- Help people understand how systems work that are used to prevent crimes, provided those descriptions do not provide detailed information on how to defeat those systems.',
    ].join('\n'),
    'Criminal Planning',
    'Helping plan or encouraging crimes such as theft, kidnapping or fraud.',
  ),
  cat(
    'O4',
    [
      'Guns and Illegal Weapons.',
      'Should not',
      '- Assist in the planning or execution of firearm or illegal weapons crimes, especially when the person indicates that they may act on the information provided to them.',
      '- Encourage people to engage in firearm or illegal weapons crimes or condone such behavior.',
      'Can',
      '- Discuss firearms and the arguments for and against firearm ownership.',
    ].join('\n'),
    'Guns & Illegal Weapons',
    'Helping acquire, make or use guns or illegal weapons for crimes.',
  ),
  cat(
    'O5',
    [
      'Regulated or Controlled Substances.',
      'Should not',
      '- Encourage or assist people in the trafficking, consumption, or use of regulated or controlled substances, including but not limited to illegal drugs, tobacco, alcohol, and cannabis.',
      '- Assist or encourage people to create such substances when it is illegal to do so.',
      'Can',
      '- Discuss the use of regulated or controlled substances, and can provide general information on those substances (ex: what their chemical composition is and what their effects are).',
      '- Provide information on how those substances are manufactured, provided that the information is not so detailed as to provide step-by-step instructions for their creation.',
    ].join('\n'),
    'Regulated or Controlled Substances',
    'Helping produce, traffic or use illegal drugs, tobacco, alcohol or cannabis.',
  ),
  cat(
    'O6',
    [
      'Self-Harm.',
      'Should not',
      '- Encourage people to harm themselves.',
      '- Romanticize or condone self-harm or suicide.',
      '- Provide information regarding the methods of suicide or self-harm.',
      '- Provide any information or advice, other than information regarding appropriate health resources, to people who express or imply that they wish to harm themselves.',
      'Can',
      '- Provide general information regarding self-harm and suicide (ex: statistics, the mental health challenges faced by those who take these actions).',
      'Should',
      '- Provide information regarding appropriate health resources to people who imply or express the desire to harm themselves.',
    ].join('\n'),
    'Suicide & Self Harm',
    'Encouraging or enabling self-harm or suicide, or methods for it.',
  ),
]);

/** Llama Guard 2 (MLCommons v0.5 numbering). The template writes a space after every category's period. */
const LG2_CATEGORIES: readonly HazardCategory[] = Object.freeze([
  cat('S1', 'Violent Crimes. ', 'Violent Crimes', 'Enabling or endorsing violence toward people or animals.'),
  cat(
    'S2',
    'Non-Violent Crimes. ',
    'Non-Violent Crimes',
    'Enabling fraud, scams, theft, hacking, drug or weapons crimes.',
  ),
  cat('S3', 'Sex Crimes. ', 'Sex-Related Crimes', 'Enabling sex trafficking, sexual assault or harassment.'),
  cat('S4', 'Child Exploitation. ', 'Child Sexual Exploitation', 'Any sexual abuse of children.'),
  cat(
    'S5',
    'Specialized Advice. ',
    'Specialized Advice',
    'Specialized financial, medical or legal advice, or calling dangerous things safe.',
  ),
  cat('S6', 'Privacy. ', 'Privacy', 'Sensitive, nonpublic personal information about someone.'),
  cat(
    'S7',
    'Intellectual Property. ',
    'Intellectual Property',
    "Violating someone's intellectual property rights.",
  ),
  cat(
    'S8',
    'Indiscriminate Weapons. ',
    'Indiscriminate Weapons',
    'Chemical, biological, radiological, nuclear or high-yield explosive weapons.',
  ),
  cat(
    'S9',
    'Hate. ',
    'Hate',
    'Demeaning people for race, religion, sexuality, disability or similar traits.',
  ),
  cat(
    'S10',
    'Self-Harm. ',
    'Suicide & Self-Harm',
    'Enabling or encouraging suicide, self-injury or disordered eating.',
  ),
  cat('S11', 'Sexual Content. ', 'Sexual Content', 'Erotic content.'),
]);

/**
 * Llama Guard 3 and 4 (MLCommons hazards taxonomy): S1–S13, plus S14 for the text-only models.
 * Shared only between generations 3 and 4, whose codes mean the same thing.
 */
const MLC_CATEGORIES: readonly HazardCategory[] = Object.freeze([
  cat('S1', 'Violent Crimes.', 'Violent Crimes', 'Enabling or endorsing violence toward people or animals.'),
  cat(
    'S2',
    'Non-Violent Crimes.',
    'Non-Violent Crimes',
    'Enabling fraud, scams, theft, hacking, drug or weapons crimes.',
  ),
  cat('S3', 'Sex Crimes.', 'Sex-Related Crimes', 'Enabling sex trafficking, sexual assault or harassment.'),
  cat('S4', 'Child Exploitation.', 'Child Sexual Exploitation', 'Any sexual abuse of children.'),
  cat(
    'S5',
    'Defamation.',
    'Defamation',
    "Verifiably false claims likely to injure a living person's reputation.",
  ),
  cat(
    'S6',
    'Specialized Advice.',
    'Specialized Advice',
    'Specialized financial, medical or legal advice, or calling dangerous things safe.',
  ),
  cat('S7', 'Privacy.', 'Privacy', 'Sensitive, nonpublic personal information about someone.'),
  cat(
    'S8',
    'Intellectual Property.',
    'Intellectual Property',
    "Violating someone's intellectual property rights.",
  ),
  cat(
    'S9',
    'Indiscriminate Weapons.',
    'Indiscriminate Weapons',
    'Chemical, biological, radiological, nuclear or high-yield explosive weapons.',
  ),
  cat(
    'S10',
    'Hate.',
    'Hate',
    'Demeaning people for race, religion, sexuality, disability or similar traits.',
  ),
  cat(
    'S11',
    'Self-Harm.',
    'Suicide & Self-Harm',
    'Enabling or encouraging suicide, self-injury or disordered eating.',
  ),
  cat('S12', 'Sexual Content.', 'Sexual Content', 'Erotic content.'),
  cat(
    'S13',
    'Elections.',
    'Elections',
    'False information about when, where or how to vote in civic elections.',
  ),
  cat(
    'S14',
    'Code Interpreter Abuse.',
    'Code Interpreter Abuse',
    'Abusing code interpreters: denial of service, container escapes, privilege escalation.',
  ),
]);
const MLC_S1_S13: readonly HazardCategory[] = Object.freeze(MLC_CATEGORIES.slice(0, 13));

const model = (m: GuardModel): GuardModel => Object.freeze(m);

export const GUARD_MODELS: Readonly<Record<GuardModelId, GuardModel>> = Object.freeze({
  'llama-guard-4-12b': model({
    id: 'llama-guard-4-12b',
    label: 'Llama Guard 4 12B',
    generation: 4,
    categories: MLC_CATEGORIES,
    // The template drops S14 (Code Interpreter Abuse, text only) when any image is present.
    imageCategories: MLC_S1_S13,
    // The model takes several images; Meta tested it mostly with up to three, so Guardlens sends at most 3.
    maxImages: 3,
    // Served with 128K to 1M tokens depending on the provider: assume the smallest.
    contextWindow: 131_072,
    customCategories: true,
    excludedCategories: true,
    contentShape: 'parts',
  }),
  'llama-guard-3-8b': model({
    id: 'llama-guard-3-8b',
    label: 'Llama Guard 3 8B',
    generation: 3,
    categories: MLC_CATEGORIES,
    maxImages: 0,
    // Providers serve it with an 8K context.
    contextWindow: 8_192,
    customCategories: false,
    excludedCategories: false,
    contentShape: 'string',
  }),
  'llama-guard-3-1b': model({
    id: 'llama-guard-3-1b',
    label: 'Llama Guard 3 1B',
    generation: 3,
    categories: MLC_S1_S13,
    maxImages: 0,
    contextWindow: 131_072,
    customCategories: true,
    excludedCategories: true,
    contentShape: 'parts',
  }),
  'llama-guard-3-11b-vision': model({
    id: 'llama-guard-3-11b-vision',
    label: 'Llama Guard 3 11B Vision',
    generation: 3,
    categories: MLC_S1_S13,
    // One image per request: the template writes a single <|image|> whatever the number of image parts.
    maxImages: 1,
    contextWindow: 131_072,
    customCategories: true,
    excludedCategories: true,
    contentShape: 'parts',
  }),
  'llama-guard-2-8b': model({
    id: 'llama-guard-2-8b',
    label: 'Llama Guard 2 8B',
    generation: 2,
    categories: LG2_CATEGORIES,
    maxImages: 0,
    contextWindow: 8_192,
    customCategories: false,
    excludedCategories: false,
    contentShape: 'string',
  }),
  'llama-guard-7b': model({
    id: 'llama-guard-7b',
    label: 'Llama Guard 7B',
    generation: 1,
    categories: LG1_CATEGORIES,
    maxImages: 0,
    // Llama 2 base: 4K context.
    contextWindow: 4_096,
    customCategories: false,
    excludedCategories: false,
    contentShape: 'string',
  }),
});

export class UnknownGuardModelError extends Error {
  override name = 'UnknownGuardModelError';
  readonly id: string;
  constructor(id: string) {
    super(`Unknown Llama Guard model "${id}". Valid ids: ${GUARD_MODEL_IDS.join(', ')}.`);
    this.id = id;
  }
}

export function listGuardModels(): GuardModel[] {
  return GUARD_MODEL_IDS.map((id) => GUARD_MODELS[id]);
}

export function isGuardModelId(x: unknown): x is GuardModelId {
  return typeof x === 'string' && (GUARD_MODEL_IDS as readonly string[]).includes(x);
}

export function getGuardModel(id: string): GuardModel {
  if (!isGuardModelId(id)) throw new UnknownGuardModelError(String(id));
  return GUARD_MODELS[id];
}

/** The text of a custom category without its trailing period, used as its name for people. */
const customName = (text: string): string => text.trim().replace(/\.+$/, '').trim() || text.trim();

/**
 * The categories in effect for one request.
 *
 * - `hasImage`: use the model's `imageCategories` when it has them (Llama Guard 4: S1–S13).
 * - `custom`: a replacement table (code → template string) that replaces the built-in one entirely, in the
 *   given order. A custom entry whose text equals the built-in template string for its code keeps that
 *   category's card name and description; any other entry is named after its own text (trailing period
 *   dropped). Whether the model accepts a custom table is checked by the prompt builder, not here.
 */
export function categoryTable(
  model: GuardModel,
  opts: { hasImage?: boolean; custom?: Readonly<Record<string, string>> } = {},
): HazardCategory[] {
  const builtIn = (opts.hasImage && model.imageCategories) || model.categories;
  if (!opts.custom) return [...builtIn];
  return Object.entries(opts.custom).map(([code, text]) => {
    const known = model.categories.find((c) => c.code === code);
    if (known && known.promptName.trim() === text.trim())
      return cat(code, text, known.name, known.description);
    return cat(code, text, customName(text), `Custom category: ${text.trim()}`);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// People-facing names in the extension's messages file

/**
 * Which hazard table a model uses, for message keys: Llama Guard 1 (`lg1`, O1–O6), Llama Guard 2 (`lg2`,
 * S1–S11), and the MLCommons table shared by Llama Guard 3 and 4 (`lg3`, S1–S14: their model cards give the
 * same names).
 */
export type CategoryFamily = 'lg1' | 'lg2' | 'lg3';

/** Every family with its built-in categories (the English defaults the messages file must repeat). */
export const CATEGORY_FAMILIES: Readonly<Record<CategoryFamily, readonly HazardCategory[]>> = Object.freeze({
  lg1: LG1_CATEGORIES,
  lg2: LG2_CATEGORIES,
  lg3: MLC_CATEGORIES,
});

export function categoryFamily(model: Pick<GuardModel, 'generation'>): CategoryFamily {
  return model.generation === 1 ? 'lg1' : model.generation === 2 ? 'lg2' : 'lg3';
}

/** The message keys of a built-in category's name and description: `cat_<family>_<code>_name` / `_desc`. */
export function categoryMessageKeys(
  family: CategoryFamily,
  code: string,
): { name: string; description: string } {
  return { name: `cat_${family}_${code}_name`, description: `cat_${family}_${code}_desc` };
}

/** Looks a message up by key (`browser.i18n.getMessage` in the extension); empty or undefined when unknown. */
export type MessageLookup = (key: string) => string | undefined;

/**
 * The model's own category for `code` (surrounding spaces and letter case ignored), or undefined. With
 * `lookup`, its name and description come from the messages file (the English defaults when a key is missing).
 */
export function describeCategory(
  model: GuardModel,
  code: string,
  lookup?: MessageLookup,
): HazardCategory | undefined {
  const wanted = String(code).trim().toUpperCase();
  const found =
    model.categories.find((c) => c.code === wanted) ?? model.imageCategories?.find((c) => c.code === wanted);
  return found && lookup ? localizeCategory(model, found, lookup) : found;
}

/** A built-in category with its name and description from the messages file. */
export function localizeCategory(
  model: Pick<GuardModel, 'generation'>,
  category: HazardCategory,
  lookup: MessageLookup,
): HazardCategory {
  const keys = categoryMessageKeys(categoryFamily(model), category.code);
  const read = (key: string, fallback: string) => {
    try {
      return lookup(key) || fallback;
    } catch {
      return fallback;
    }
  };
  return cat(
    category.code,
    category.promptName,
    read(keys.name, category.name),
    read(keys.description, category.description),
  );
}
