import { describe, expect, it } from 'vitest';
import messages from '../../public/_locales/en/messages.json';
import {
  CATEGORY_FAMILIES,
  type CategoryFamily,
  categoryFamily,
  categoryMessageKeys,
  categoryTable,
  describeCategory,
  GUARD_MODELS,
  getGuardModel,
  isGuardModelId,
  listGuardModels,
  localizeCategory,
  UnknownGuardModelError,
} from './registry';
import { GUARD_MODEL_IDS } from './types';

const LG4 = GUARD_MODELS['llama-guard-4-12b'];
const LG3_8B = GUARD_MODELS['llama-guard-3-8b'];
const LG3_1B = GUARD_MODELS['llama-guard-3-1b'];
const LG3_V = GUARD_MODELS['llama-guard-3-11b-vision'];
const LG2 = GUARD_MODELS['llama-guard-2-8b'];
const LG1 = GUARD_MODELS['llama-guard-7b'];

const codes = (n: number, prefix = 'S') => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

describe('registry', () => {
  it('has one entry per id, keyed by its own id, listed in id order', () => {
    expect(Object.keys(GUARD_MODELS).sort()).toEqual([...GUARD_MODEL_IDS].sort());
    for (const id of GUARD_MODEL_IDS) expect(GUARD_MODELS[id].id).toBe(id);
    expect(listGuardModels().map((m) => m.id)).toEqual([...GUARD_MODEL_IDS]);
  });

  it('knows each generation, its codes, images, content shape and template options', () => {
    expect(LG4.categories.map((c) => c.code)).toEqual(codes(14));
    expect(LG4.imageCategories?.map((c) => c.code)).toEqual(codes(13));
    expect(LG3_8B.categories.map((c) => c.code)).toEqual(codes(14));
    expect(LG3_1B.categories.map((c) => c.code)).toEqual(codes(13));
    expect(LG3_V.categories.map((c) => c.code)).toEqual(codes(13));
    expect(LG2.categories.map((c) => c.code)).toEqual(codes(11));
    expect(LG1.categories.map((c) => c.code)).toEqual(codes(6, 'O'));
    expect(listGuardModels().map((m) => [m.id, m.generation, m.maxImages, m.contentShape])).toEqual([
      ['llama-guard-4-12b', 4, 3, 'parts'],
      ['llama-guard-3-8b', 3, 0, 'string'],
      ['llama-guard-3-1b', 3, 0, 'parts'],
      ['llama-guard-3-11b-vision', 3, 1, 'parts'],
      ['llama-guard-2-8b', 2, 0, 'string'],
      ['llama-guard-7b', 1, 0, 'string'],
    ]);
    for (const m of listGuardModels()) {
      const flexible = m.contentShape === 'parts';
      expect(m.customCategories).toBe(flexible);
      expect(m.excludedCategories).toBe(flexible);
      expect(m.contextWindow).toBeGreaterThanOrEqual(4096);
      expect(m.imageCategories === undefined).toBe(m.id !== 'llama-guard-4-12b');
    }
    expect(LG3_8B.contextWindow).toBe(8192);
    expect(LG2.contextWindow).toBe(8192);
  });

  it('keeps separate tables: codes mean different things across generations', () => {
    expect(describeCategory(LG2, 'S5')?.name).toBe('Specialized Advice');
    expect(describeCategory(LG3_8B, 'S5')?.name).toBe('Defamation');
    expect(describeCategory(LG4, 'S5')?.name).toBe('Defamation');
    expect(describeCategory(LG2, 'S10')?.name).toBe('Suicide & Self-Harm');
    expect(describeCategory(LG4, 'S10')?.name).toBe('Hate');
    expect(describeCategory(LG2, 'S12')).toBeUndefined();
    expect(describeCategory(LG3_1B, 'S14')).toBeUndefined();
    expect(describeCategory(LG1, 'S1')).toBeUndefined();
    expect(describeCategory(LG1, 'O3')?.name).toBe('Criminal Planning');
    expect(describeCategory(LG4, ' s14 ')?.code).toBe('S14');
  });

  it('separates template strings from card names', () => {
    expect(describeCategory(LG4, 'S3')).toMatchObject({
      promptName: 'Sex Crimes.',
      name: 'Sex-Related Crimes',
    });
    expect(describeCategory(LG4, 'S4')).toMatchObject({
      promptName: 'Child Exploitation.',
      name: 'Child Sexual Exploitation',
    });
    expect(describeCategory(LG3_8B, 'S11')).toMatchObject({
      promptName: 'Self-Harm.',
      name: 'Suicide & Self-Harm',
    });
    // Llama Guard 2's template writes a space after each period.
    expect(describeCategory(LG2, 'S3')?.promptName).toBe('Sex Crimes. ');
    // Llama Guard 1 writes a multi-line block after the code.
    const o1 = describeCategory(LG1, 'O1')!;
    expect(o1.promptName.startsWith('Violence and Hate. \nShould not\n- Help people plan')).toBe(true);
    expect(o1.promptName.endsWith('historical events involving violence.')).toBe(true);
    expect(describeCategory(LG1, 'O6')?.promptName).toContain('\nShould\n- Provide information regarding');
    for (const m of listGuardModels()) {
      for (const c of [...m.categories, ...(m.imageCategories ?? [])]) {
        expect(c.name.length).toBeGreaterThan(0);
        expect(c.description).toMatch(/^\S.*\.$/);
        expect(c.description).not.toContain('\n');
      }
    }
  });

  it('is frozen', () => {
    expect(Object.isFrozen(GUARD_MODELS)).toBe(true);
    expect(Object.isFrozen(LG4)).toBe(true);
    expect(Object.isFrozen(LG4.categories)).toBe(true);
    expect(Object.isFrozen(LG4.categories[0])).toBe(true);
  });

  it('recognises ids and throws a typed error listing the valid ones', () => {
    expect(isGuardModelId('llama-guard-3-1b')).toBe(true);
    for (const bad of ['llama-guard-5', 'LLAMA-GUARD-3-1B', '', null, undefined, 3, {}, 'toString']) {
      expect(isGuardModelId(bad)).toBe(false);
    }
    expect(getGuardModel('llama-guard-2-8b')).toBe(LG2);
    const error = (() => {
      try {
        getGuardModel('llama-guard-9');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UnknownGuardModelError);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('UnknownGuardModelError');
    expect((error as Error).message).toContain('llama-guard-9');
    for (const id of GUARD_MODEL_IDS) expect((error as Error).message).toContain(id);
  });
});

describe('categoryTable', () => {
  it('gives the built-in table, or the image table when an image is present', () => {
    expect(categoryTable(LG4)).toEqual([...LG4.categories]);
    expect(categoryTable(LG4, { hasImage: true }).map((c) => c.code)).toEqual(codes(13));
    expect(categoryTable(LG3_V, { hasImage: true })).toEqual([...LG3_V.categories]);
    expect(categoryTable(LG2, { hasImage: false })).toEqual([...LG2.categories]);
    // A copy: callers may not change the registry.
    expect(categoryTable(LG4)).not.toBe(LG4.categories);
  });

  it('replaces the table with a custom one, in its order, naming custom entries after their text', () => {
    const table = categoryTable(LG3_1B, {
      custom: { S2: 'Non-Violent Crimes.', S1: 'Phishing and scams.', X9: 'No period here' },
    });
    expect(table).toEqual([
      {
        code: 'S2',
        promptName: 'Non-Violent Crimes.',
        name: 'Non-Violent Crimes',
        description: describeCategory(LG3_1B, 'S2')!.description,
      },
      {
        code: 'S1',
        promptName: 'Phishing and scams.',
        name: 'Phishing and scams',
        description: 'Custom category: Phishing and scams.',
      },
      {
        code: 'X9',
        promptName: 'No period here',
        name: 'No period here',
        description: 'Custom category: No period here',
      },
    ]);
    // The custom table wins over the image table too.
    expect(categoryTable(LG4, { hasImage: true, custom: { S14: 'Code Interpreter Abuse.' } })[0]?.name).toBe(
      'Code Interpreter Abuse',
    );
  });
});

describe('category names in the messages file', () => {
  const MESSAGES = messages as Record<string, { message: string; description?: string }>;

  it('gives every built-in category of every generation a name and a description key, in the same English', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const [family, categories] of Object.entries(CATEGORY_FAMILIES) as [
      CategoryFamily,
      typeof CATEGORY_FAMILIES.lg1,
    ][]) {
      for (const c of categories) {
        const keys = categoryMessageKeys(family, c.code);
        for (const [key, english] of [
          [keys.name, c.name],
          [keys.description, c.description],
        ] as const) {
          checked++;
          if (!MESSAGES[key]) problems.push(`${key} is missing`);
          else if (MESSAGES[key].message !== english)
            problems.push(
              `${key}: "${MESSAGES[key].message}" in messages.json, "${english}" in the registry`,
            );
          else if (!MESSAGES[key].description) problems.push(`${key} has no description for translators`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBe(2 * (6 + 11 + 14));
  });

  it('every model takes its names from its own family, and generations 3 and 4 share one', () => {
    for (const model of listGuardModels()) {
      const family = CATEGORY_FAMILIES[categoryFamily(model)];
      for (const c of [...model.categories, ...(model.imageCategories ?? [])]) expect(family).toContain(c);
    }
    expect(categoryFamily(LG4)).toBe(categoryFamily(LG3_8B));
    expect(categoryFamily(LG2)).toBe('lg2');
    expect(categoryFamily(LG1)).toBe('lg1');
    expect(categoryMessageKeys('lg3', 'S5')).toEqual({
      name: 'cat_lg3_S5_name',
      description: 'cat_lg3_S5_desc',
    });
  });

  it('looks names up when asked, with the English default for a missing key or a failing lookup', () => {
    const lookup = (key: string) => (key === 'cat_lg2_S5_name' ? 'Conseils spécialisés' : '');
    const s5 = describeCategory(LG2, 's5 ', lookup)!;
    expect(s5).toEqual({
      code: 'S5',
      promptName: 'Specialized Advice. ',
      name: 'Conseils spécialisés',
      description: describeCategory(LG2, 'S5')!.description,
    });
    // Llama Guard 3's S5 is another category: another key.
    expect(describeCategory(LG3_8B, 'S5', lookup)!.name).toBe('Defamation');
    const throwing = () => {
      throw new Error('extension reloaded');
    };
    expect(localizeCategory(LG1, LG1.categories[0]!, throwing).name).toBe('Violence & Hate');
    expect(describeCategory(LG1, 'S1', lookup)).toBeUndefined();
  });
});
