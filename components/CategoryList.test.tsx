// @vitest-environment happy-dom
import { render } from 'preact';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CategoryView, FlaggedItemView } from '@/utils/protocol/popup';
import { CategoryList } from './CategoryList';
import { CATEGORY_PALETTE, categoryColor } from './categories';
import { installMessages } from './testing/i18n';

const categories: CategoryView[] = [
  { code: 'S1', name: 'Violent Crimes', description: 'Violence.', count: 1, action: 'blur', custom: false },
  { code: 'S10', name: 'Hate', description: 'Demeaning people.', count: 2, action: 'label', custom: false },
  { code: 'S15', name: 'Gambling', description: '', count: 1, action: 'ignore', custom: true },
];
const items: FlaggedItemView[] = [
  { ref: 'b1', frameId: 0, kind: 'text', categories: ['S1'], snippet: 'violent text' },
  {
    ref: 'b2',
    frameId: 2,
    kind: 'text',
    categories: ['S10', 'S15'],
    snippet: '<img src=x onerror="globalThis.pwned=1"><b>bold</b>',
  },
  {
    ref: 'i1',
    frameId: 0,
    kind: 'image',
    categories: ['S10'],
    snippet: '',
    thumbnail: 'data:image/png;base64,iVBORw0KGgo=',
  },
];

let root: HTMLElement;
beforeEach(() => {
  installMessages();
  root = document.createElement('div');
  document.body.append(root);
});
afterEach(() => {
  render(null, root);
  root.remove();
  vi.restoreAllMocks();
});

describe('CategoryList', () => {
  it('lists each category with its code, name, count, action and colour, in the given order', () => {
    render(<CategoryList categories={categories} items={items} />, root);
    const summaries = [...root.querySelectorAll('summary')];
    expect(summaries.map((s) => s.querySelector('.gl-code')?.textContent)).toEqual(['S1', 'S10', 'S15']);
    expect(summaries[1]!.textContent).toBe('S10Hate22 items, labelled only');
    expect(summaries[1]!.getAttribute('title')).toBe('Demeaning people.');
    expect(summaries[2]!.hasAttribute('title')).toBe(false);
    const colour = (root.querySelectorAll('.gl-cat')[1] as HTMLElement).style.getPropertyValue('--gl-cat');
    expect(colour).toBe(categoryColor('S10'));
    expect(root.querySelector('h2')?.textContent).toBe('Flagged categories');
  });

  it('renders page content as text, never as markup', () => {
    render(<CategoryList categories={categories} items={items} />, root);
    const snippets = [...root.querySelectorAll('.gl-snippet')].map((s) => s.textContent);
    expect(snippets).toContain('<img src=x onerror="globalThis.pwned=1"><b>bold</b>');
    expect(root.querySelector('b')).toBeNull();
    expect(root.querySelectorAll('img')).toHaveLength(1);
    expect((globalThis as { pwned?: number }).pwned).toBeUndefined();
  });

  it('shows a blurred thumbnail for an image and a placeholder for an image without text', () => {
    render(<CategoryList categories={categories} items={items} />, root);
    const hate = root.querySelectorAll('.gl-cat')[1]!;
    const image = hate.querySelectorAll('.gl-item')[1]!;
    expect(image.querySelector('img')?.getAttribute('src')).toBe('data:image/png;base64,iVBORw0KGgo=');
    expect(image.querySelector('img')?.className).toBe('gl-thumb');
    expect(image.querySelector('.gl-snippet')?.textContent).toBe('(an image without a description)');
    expect(image.querySelector('.gl-item-kind')?.textContent).toBe('Image');
  });

  it('asks to show an element on the page, and says what became of it', () => {
    const onReveal = vi.fn();
    render(
      <CategoryList
        categories={categories}
        items={items}
        onReveal={onReveal}
        reveals={{ '2:b2': 'missing', '0:b1': 'pending' }}
      />,
      root,
    );
    const buttons = [...root.querySelectorAll('button')];
    expect(buttons.map((b) => b.textContent)).toEqual([
      'Show on page',
      'Show on page',
      'Show on page',
      'Show on page',
    ]);
    expect(buttons[0]!.disabled).toBe(true);
    buttons[1]!.click();
    expect(onReveal).toHaveBeenCalledWith(items[1]);
    const described = document.getElementById(buttons[1]!.getAttribute('aria-describedby')!);
    expect(described?.textContent).toBe(items[1]!.snippet);
    expect(root.querySelectorAll('[role=status]')[0]?.textContent).toBe('It is no longer on the page.');
  });

  it('renders nothing without flagged categories', () => {
    render(<CategoryList categories={[]} items={[]} />, root);
    expect(root.innerHTML).toBe('');
  });
});

describe('categoryColor', () => {
  const luminance = (hex: string) => {
    const [r, g, b] = [1, 3, 5].map((i) => {
      const v = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  };

  it('gives white text a contrast of at least 4.5:1 on every colour', () => {
    for (const colour of CATEGORY_PALETTE)
      expect(1.05 / (luminance(colour) + 0.05)).toBeGreaterThanOrEqual(4.5);
  });

  it('is stable per code, distinct for S1…S14, and case-insensitive', () => {
    const s = Array.from({ length: 14 }, (_, i) => categoryColor(`S${i + 1}`));
    expect(new Set(s).size).toBe(14);
    expect(categoryColor('s3')).toBe(categoryColor('S3'));
    expect(categoryColor('C1')).toBe(categoryColor('C1'));
    expect(CATEGORY_PALETTE).toContain(categoryColor('CUSTOM9'));
  });
});
