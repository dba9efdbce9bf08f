/**
 * Small helpers for the hostile-page tests: dialogs a page or extension page opened, the page's view of
 * Guardlens' marks and label, real mouse clicks, and what a page script can read.
 */
import type { PageHandle } from '../harness';

/** The attributes Guardlens documents on page elements (docs/architecture.md, `enforce.ts`). */
export const DOCUMENTED_ATTRIBUTES = [
  'data-guardlens',
  'data-guardlens-categories',
  'data-guardlens-action',
  'data-guardlens-revealed',
  'data-guardlens-img',
  'data-guardlens-style',
  'data-guardlens-ui',
];

/** Records (and dismisses) every dialog the page opens: `alert` payloads that ran would show up here. */
export function recordDialogs(page: PageHandle): string[] {
  const seen: string[] = [];
  const raw = page.raw as {
    on(event: 'dialog', fn: (d: { message(): string; dismiss(): Promise<void> }) => void): void;
  };
  raw.on('dialog', (dialog) => {
    seen.push(dialog.message());
    dialog.dismiss().catch(() => {});
  });
  return seen;
}

/** A click with the browser's real input (a trusted event), at viewport coordinates. */
export async function personClick(page: PageHandle, x: number, y: number): Promise<void> {
  const raw = page.raw as { mouse: { click(x: number, y: number): Promise<void> } };
  await raw.mouse.click(x, y);
}

export interface ElementView {
  flag: string | null;
  action: string | null;
  categories: string | null;
  revealed: boolean;
  filter: string;
  display: string;
}

/** How an element looks to the page: Guardlens' attributes and its computed filter and display. */
export function elementView(page: PageHandle, id: string): Promise<ElementView> {
  return page.evaluate((elementId: string) => {
    const el = document.getElementById(elementId)!;
    const style = getComputedStyle(el);
    return {
      flag: el.getAttribute('data-guardlens'),
      action: el.getAttribute('data-guardlens-action'),
      categories: el.getAttribute('data-guardlens-categories'),
      revealed: el.hasAttribute('data-guardlens-revealed'),
      filter: style.filter,
      display: style.display,
    };
  }, id);
}

/** Centre of the Show/Hide button of the label whose text contains `text`, after scrolling `id` into view. */
export function labelButton(
  page: PageHandle,
  id: string,
  text: string,
): Promise<{ x: number; y: number } | null> {
  return page.evaluate(
    (elementId: string, wanted: string) => {
      document.getElementById(elementId)!.scrollIntoView({ block: 'center' });
      // The page may have made a guardlens-ui element of its own: Guardlens' is the one with a shadow root.
      const root = [...document.querySelectorAll('guardlens-ui')].find((h) => h.shadowRoot)?.shadowRoot;
      const label = [...(root?.querySelectorAll('.label') ?? [])].find((l) =>
        l.textContent?.includes(wanted),
      );
      const button = label?.querySelector('button');
      if (!button || (label as HTMLElement).hidden) return null;
      const rect = button.getBoundingClientRect();
      if (rect.width === 0) return null;
      return { x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 };
    },
    id,
    text,
  );
}

/**
 * Everything a page script can read that might carry Guardlens' results or settings: its own globals whose
 * names mention Guardlens, every attribute name starting with `data-guardlens`, the text and attribute values
 * of the document and its open shadow roots, and web storage.
 */
export function pageReadable(
  page: PageHandle,
): Promise<{ globals: string[]; attributes: string[]; text: string }> {
  return page.evaluate(() => {
    const globals = Object.getOwnPropertyNames(window).filter((k) => /guard|llama|verdict/i.test(k));
    const attributes = new Set<string>();
    const parts: string[] = [];
    const visit = (root: Document | ShadowRoot) => {
      for (const el of root.querySelectorAll('*')) {
        for (const attr of el.attributes) {
          if (attr.name.startsWith('data-guardlens')) attributes.add(attr.name);
          parts.push(attr.value);
        }
        if (el.shadowRoot) visit(el.shadowRoot);
      }
      parts.push(root.textContent ?? '');
    };
    visit(document);
    parts.push(document.documentElement.textContent ?? '');
    for (const store of [localStorage, sessionStorage])
      for (let i = 0; i < store.length; i++) parts.push(`${store.key(i)}=${store.getItem(store.key(i)!)}`);
    return { globals, attributes: [...attributes].sort(), text: parts.join('\n') };
  });
}
