import { describe, expect, it } from 'vitest';
import { resolveAction } from './actions';
import { DEFAULT_SETTINGS } from './schema';

describe('resolveAction', () => {
  it('blurs by default and names categories as the model card does', () => {
    expect(resolveAction(DEFAULT_SETTINGS, ['S1', 'S10'])).toEqual({
      action: 'blur',
      categories: ['S1', 'S10'],
      names: ['Violent Crimes', 'Hate'],
    });
  });

  it('takes the strongest action and leaves ignored categories out', () => {
    const settings = {
      ...DEFAULT_SETTINGS,
      categoryActions: { S1: 'label', S10: 'hide', S5: 'ignore' } as const,
    };
    expect(resolveAction(settings, ['S1', 'S5', 'S10'])).toMatchObject({
      action: 'hide',
      categories: ['S1', 'S10'],
    });
    expect(resolveAction(settings, ['S5'])).toEqual({ action: 'ignore', categories: [], names: [] });
  });

  it('uses the generation of the model in force (Llama Guard 2 S5 is Specialized Advice)', () => {
    const lg2 = resolveAction({ ...DEFAULT_SETTINGS, guardModel: 'llama-guard-2-8b' }, ['S5']);
    const lg4 = resolveAction(DEFAULT_SETTINGS, ['S5']);
    expect(lg2.names).toEqual(['Specialized Advice']);
    expect(lg4.names).toEqual(['Defamation']);
  });

  it('keeps unknown and custom codes', () => {
    const settings = {
      ...DEFAULT_SETTINGS,
      customCategories: [{ code: 'X1', name: 'Gambling', description: '' }],
    };
    expect(resolveAction(settings, ['X1', 'S99']).names).toEqual(['Gambling', 'S99']);
  });

  it("names the model's categories from the messages file when given it (custom names stay the person's)", () => {
    const settings = {
      ...DEFAULT_SETTINGS,
      customCategories: [{ code: 'S15', name: 'Gambling', description: '' }],
    };
    const lookup = (key: string) => (key === 'cat_lg3_S10_name' ? 'Haine' : undefined);
    expect(resolveAction(settings, ['S1', 'S10', 'S15'], lookup).names).toEqual([
      'Violent Crimes',
      'Haine',
      'Gambling',
    ]);
  });
});
