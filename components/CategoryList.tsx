import type { ItemKind } from '@/lib/engine/types';
import type { CategoryAction } from '@/lib/settings/schema';
import type { CategoryView, FlaggedItemView } from '@/utils/protocol/popup';
import { categoryColor } from './categories';
import { formatNumber, type MessageKey, plural, t } from './i18n';

/** What became of a "Show on page" request for one element. */
export type RevealState = 'pending' | 'found' | 'missing' | 'failed';

const ACTION_DONE: Record<CategoryAction, MessageKey> = {
  blur: 'category_action_done_blur',
  hide: 'category_action_done_hide',
  label: 'category_action_done_label',
  ignore: 'category_action_done_ignore',
};

const KIND_LABEL: Record<ItemKind, MessageKey> = {
  text: 'popup_item_kind_text',
  image: 'popup_item_kind_image',
  prompt: 'popup_item_kind_prompt',
  reply: 'popup_item_kind_reply',
};

const REVEAL_NOTE: Record<Exclude<RevealState, 'pending'>, MessageKey> = {
  found: 'popup_reveal_found',
  missing: 'popup_reveal_missing',
  failed: 'popup_reveal_failed',
};

/** A category's code on its colour. */
export function CategoryCode({ code }: { code: string }) {
  return (
    <span class="gl-code" style={{ '--gl-cat': categoryColor(code) }}>
      {code}
    </span>
  );
}

function itemKey(item: FlaggedItemView): string {
  return `${item.frameId}:${item.ref}`;
}

/**
 * The flagged categories of a tab: code, the model card's name, a count and what the page does with it; each
 * expands to its description and its elements (a snippet or a thumbnail) with "Show on page". Snippets are
 * page content and are rendered as text only.
 */
export function CategoryList({
  categories,
  items,
  onReveal,
  reveals = {},
}: {
  categories: CategoryView[];
  items: FlaggedItemView[];
  onReveal?: (item: FlaggedItemView) => void;
  reveals?: Record<string, RevealState>;
}) {
  if (!categories.length) return null;
  return (
    <section class="gl-section" aria-labelledby="gl-categories-title">
      <h2 id="gl-categories-title">{t('popup_categories_title')}</h2>
      <ul class="gl-categories">
        {categories.map((category) => {
          const inCategory = items.filter((i) => i.categories.includes(category.code));
          return (
            <li
              key={category.code}
              class="gl-cat"
              data-code={category.code}
              style={{ '--gl-cat': categoryColor(category.code) }}
            >
              <details>
                <summary title={category.description || undefined}>
                  <CategoryCode code={category.code} />
                  <span class="gl-cat-name">{category.name}</span>
                  <span class="gl-count">
                    <span aria-hidden="true">{formatNumber(category.count)}</span>
                    <span class="gl-sr-only">
                      {plural(category.count, 'popup_count_one', 'popup_count_many')}
                      {', '}
                      {t(ACTION_DONE[category.action])}
                    </span>
                  </span>
                </summary>
                <div class="gl-cat-body">
                  {category.description && <p class="gl-hint">{category.description}</p>}
                  <p class="gl-hint">
                    {t('popup_category_action', t(ACTION_DONE[category.action]))}
                    {category.custom ? ` ${t('popup_category_custom')}` : ''}
                  </p>
                  {inCategory.length > 0 && (
                    <ul class="gl-items">
                      {inCategory.map((item) => (
                        <FlaggedItem
                          key={itemKey(item)}
                          id={`gl-item-${category.code}-${itemKey(item).replace(/[^a-zA-Z0-9_-]/g, '_')}`}
                          item={item}
                          reveal={reveals[itemKey(item)]}
                          onReveal={onReveal}
                        />
                      ))}
                    </ul>
                  )}
                </div>
              </details>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function FlaggedItem({
  id,
  item,
  reveal,
  onReveal,
}: {
  id: string;
  item: FlaggedItemView;
  reveal: RevealState | undefined;
  onReveal: ((item: FlaggedItemView) => void) | undefined;
}) {
  const isImage = item.kind === 'image';
  const snippet = item.snippet.trim() || t(isImage ? 'popup_item_image' : 'popup_item_empty');
  return (
    <li class="gl-item">
      {isImage && item.thumbnail && (
        <img class="gl-thumb" src={item.thumbnail} alt="" width={48} height={48} loading="lazy" />
      )}
      <div class="gl-item-main">
        <span class="gl-item-kind">{t(KIND_LABEL[item.kind])}</span>
        <span id={id} class="gl-snippet">
          {snippet}
        </span>
        {onReveal && (
          <div class="gl-row gl-wrap">
            <button
              type="button"
              class="gl-link-button"
              aria-describedby={id}
              disabled={reveal === 'pending'}
              onClick={() => onReveal(item)}
            >
              {t('popup_reveal')}
            </button>
            {reveal && reveal !== 'pending' && (
              <span class={reveal === 'found' ? 'gl-hint' : 'gl-hint gl-error'} role="status">
                {t(REVEAL_NOTE[reveal])}
              </span>
            )}
          </div>
        )}
      </div>
    </li>
  );
}

export { itemKey as revealKey };
