import type { HazardCategory } from '@/lib/guard/types';

export interface CategoryCount {
  category: HazardCategory;
  count: number;
}

/** Flagged categories with their code, the model card's name, a description on hover, and a count. */
export function CategoryList({ items }: { items: CategoryCount[] }) {
  if (!items.length) return null;
  return (
    <ul class="gl-categories" aria-label="Flagged categories">
      {items.map(({ category, count }) => (
        <li key={category.code} class="gl-cat" title={category.description}>
          <span class="gl-code">{category.code}</span>
          <span>{category.name}</span>
          <span>
            × {count}
            <span class="gl-sr-only"> {count === 1 ? 'item' : 'items'}</span>
          </span>
        </li>
      ))}
    </ul>
  );
}
