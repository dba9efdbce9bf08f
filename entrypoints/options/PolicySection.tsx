import { useRef } from 'preact/hooks';
import { CategoryCode } from '@/components/CategoryList';
import { describedBy, type Managed, PolicyNote } from '@/components/Form';
import { type MessageKey, t } from '@/components/i18n';
import { getGuardModel, localizeCategory } from '@/lib/guard/registry';
import { getPreset } from '@/lib/providers/presets';
import { customCategoriesApply } from '@/lib/settings/endpoint';
import {
  actionForCategory,
  type CategoryAction,
  type CustomCategory,
  MAX_CATEGORY_DESCRIPTION_LENGTH,
  MAX_CATEGORY_NAME_LENGTH,
  MAX_CUSTOM_CATEGORIES,
  type Settings,
} from '@/lib/settings/schema';
import { lookupMessage, presetLabel } from '@/utils/i18n';

type OnAction = Exclude<CategoryAction, 'ignore'>;

const ACTION_LABEL: Record<OnAction, MessageKey> = {
  blur: 'options_action_blur',
  hide: 'options_action_hide',
  label: 'options_action_label',
};

/** The next free code for a custom category: after the model's own codes, in its letter (`S15`, `O7`). */
export function nextCustomCode(settings: Pick<Settings, 'guardModel' | 'customCategories'>): string {
  const model = getGuardModel(settings.guardModel);
  const letter = model.categories[0]?.code.charAt(0) ?? 'S';
  const taken = new Set([
    ...model.categories.map((c) => c.code),
    ...settings.customCategories.map((c) => c.code),
  ]);
  for (let n = model.categories.length + 1; ; n++) {
    const code = `${letter}${n}`;
    if (!taken.has(code)) return code;
  }
}

/** Why custom categories do not reach the model with these settings, or null when they do. */
export function customCategoriesNote(settings: Settings): string | null {
  if (customCategoriesApply(settings)) return null;
  const model = getGuardModel(settings.guardModel);
  if (!model.customCategories) return t('options_custom_unsupported_model', model.label);
  const preset = getPreset(settings.provider);
  if (!preset.raw) return t('options_custom_needs_raw_unavailable', presetLabel(preset));
  return t('options_custom_needs_raw');
}

export function PolicySection({
  draft,
  managed,
  update,
}: {
  draft: Settings;
  managed: (key: keyof Settings) => Managed;
  update: (patch: Partial<Settings>) => void;
}) {
  // The action a category had before it was turned off, to bring back when it is turned on again.
  const previous = useRef<Record<string, OnAction>>({});
  const model = getGuardModel(draft.guardModel);
  const actionsManaged = managed('categoryActions');
  const locked = actionsManaged === 'locked';
  const customManaged = managed('customCategories');
  const note = customCategoriesNote(draft);
  const applies = note === null;

  const setAction = (code: string, action: CategoryAction) =>
    update({ categoryActions: { ...draft.categoryActions, [code]: action } });

  const toggle = (code: string, on: boolean) => {
    const current = actionForCategory(draft, code);
    if (!on && current !== 'ignore') previous.current[code] = current;
    setAction(code, on ? (previous.current[code] ?? 'blur') : 'ignore');
  };

  const setCustom = (customCategories: CustomCategory[]) => update({ customCategories });
  const editCustom = (i: number, patch: Partial<CustomCategory>) =>
    setCustom(draft.customCategories.map((c, j) => (j === i ? { ...c, ...patch } : c)));
  const removeCustom = (i: number) => {
    const removed = draft.customCategories[i];
    const { [removed?.code ?? '']: _gone, ...actions } = draft.categoryActions;
    update({ customCategories: draft.customCategories.filter((_, j) => j !== i), categoryActions: actions });
  };
  const addCustom = () =>
    setCustom([...draft.customCategories, { code: nextCustomCode(draft), name: '', description: '' }]);

  const rows = [
    ...model.categories.map((category) => {
      const c = localizeCategory(model, category, lookupMessage);
      return { code: c.code, name: c.name, description: c.description, custom: false };
    }),
    ...(applies ? draft.customCategories.map((c) => ({ ...c, custom: true })) : []),
  ];

  return (
    <section id="policy" class="gl-card" aria-labelledby="policy-title">
      <h2 id="policy-title">{t('options_policy_title')}</h2>
      <p class="gl-hint" id="policy-intro">
        {t('options_policy_intro', model.label)}
      </p>
      <PolicyNote id="categoryActions" managed={actionsManaged} />
      <table class="gl-table gl-policy-table">
        <caption class="gl-sr-only">{t('options_policy_caption', model.label)}</caption>
        <thead>
          <tr>
            <th scope="col">{t('options_policy_col_category')}</th>
            <th scope="col">{t('options_policy_col_check')}</th>
            <th scope="col">{t('options_policy_col_action')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            const action = actionForCategory(draft, row.code);
            const on = action !== 'ignore';
            const shown: OnAction = on ? action : (previous.current[row.code] ?? 'blur');
            const nameId = `cat-${row.code}-name`;
            return (
              <tr key={row.code} data-code={row.code}>
                <th scope="row">
                  <div class="gl-cat-cell">
                    <CategoryCode code={row.code} />
                    <span>
                      <span id={nameId} class="gl-cat-name">
                        {row.name || t('options_custom_unnamed')}
                      </span>
                      {row.description && <span class="gl-hint gl-block">{row.description}</span>}
                    </span>
                  </div>
                </th>
                <td>
                  <input
                    id={`cat-${row.code}-on`}
                    type="checkbox"
                    checked={on}
                    disabled={locked}
                    aria-label={t('options_policy_check_label', row.code, row.name || row.code)}
                    onChange={(e) => toggle(row.code, e.currentTarget.checked)}
                  />
                </td>
                <td>
                  <select
                    id={`cat-${row.code}-action`}
                    value={shown}
                    disabled={locked || !on}
                    aria-label={t('options_policy_action_label', row.code, row.name || row.code)}
                    onChange={(e) => setAction(row.code, e.currentTarget.value as OnAction)}
                  >
                    {(Object.keys(ACTION_LABEL) as OnAction[]).map((a) => (
                      <option key={a} value={a}>
                        {t(ACTION_LABEL[a])}
                      </option>
                    ))}
                  </select>
                  {!on && <span class="gl-hint gl-block">{t('options_action_ignore')}</span>}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>

      <h3 id="custom-title">{t('options_custom_title')}</h3>
      <p class="gl-hint" id="custom-intro">
        {t('options_custom_intro')}
      </p>
      {note && (
        <p class="gl-note" id="custom-note" role="note">
          {note}
        </p>
      )}
      <PolicyNote id="customCategories" managed={customManaged} />
      {draft.customCategories.length > 0 && (
        <ul class="gl-custom-list" aria-labelledby="custom-title">
          {draft.customCategories.map((c, i) => (
            <li key={`${c.code}-${i}`} class="gl-custom">
              <CategoryCode code={c.code} />
              <div class="gl-custom-fields">
                <label for={`custom-${i}-name`}>{t('options_custom_name', c.code)}</label>
                <input
                  id={`custom-${i}-name`}
                  type="text"
                  value={c.name}
                  maxLength={MAX_CATEGORY_NAME_LENGTH}
                  required
                  disabled={!applies || customManaged === 'locked'}
                  aria-describedby={
                    describedBy('custom', false, customManaged) ?? (note ? 'custom-note' : undefined)
                  }
                  onInput={(e) => editCustom(i, { name: e.currentTarget.value })}
                />
                <label for={`custom-${i}-description`}>{t('options_custom_description', c.code)}</label>
                <textarea
                  id={`custom-${i}-description`}
                  rows={2}
                  value={c.description}
                  maxLength={MAX_CATEGORY_DESCRIPTION_LENGTH}
                  disabled={!applies || customManaged === 'locked'}
                  onInput={(e) => editCustom(i, { description: e.currentTarget.value })}
                />
              </div>
              <button
                type="button"
                disabled={customManaged === 'locked'}
                aria-label={t('options_custom_remove_label', c.code, c.name || c.code)}
                onClick={() => removeCustom(i)}
              >
                {t('options_custom_remove')}
              </button>
            </li>
          ))}
        </ul>
      )}
      <button
        type="button"
        disabled={
          !applies || customManaged === 'locked' || draft.customCategories.length >= MAX_CUSTOM_CATEGORIES
        }
        aria-describedby={note ? 'custom-note' : undefined}
        onClick={addCustom}
      >
        {t('options_custom_add')}
      </button>
    </section>
  );
}
