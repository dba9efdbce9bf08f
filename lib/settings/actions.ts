/**
 * What the page does with a verdict: the person's action per category, resolved to one action per element.
 * The strongest action wins (hide > blur > label); categories set to `ignore` do not count at all.
 */
import { describeCategory, getGuardModel, type MessageLookup } from '../guard/registry';
import type { CategoryAction, Settings } from './schema';
import { actionForCategory } from './schema';

const STRENGTH: Record<CategoryAction, number> = { ignore: 0, label: 1, blur: 2, hide: 3 };

export interface ResolvedAction {
  action: CategoryAction;
  /** Codes that are not ignored, in the model's order of report. */
  categories: string[];
  /** The model card's names for them (the code itself for a code the model does not define). */
  names: string[];
}

export function resolveAction(
  settings: Pick<Settings, 'categoryActions' | 'guardModel' | 'customCategories'>,
  codes: readonly string[],
  /** The messages file, for the names of the model's own categories (the registry's English without it). */
  lookup?: MessageLookup,
): ResolvedAction {
  const model = getGuardModel(settings.guardModel);
  let action: CategoryAction = 'ignore';
  const categories: string[] = [];
  const names: string[] = [];
  for (const code of codes) {
    const chosen = actionForCategory(settings, code);
    if (chosen === 'ignore') continue;
    if (STRENGTH[chosen] > STRENGTH[action]) action = chosen;
    categories.push(code);
    const custom = settings.customCategories.find((c) => c.code === code);
    names.push(custom?.name ?? describeCategory(model, code, lookup)?.name ?? code);
  }
  return { action, categories, names };
}
