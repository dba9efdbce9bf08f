/**
 * One colour per hazard category code, the same in the popup, the options page and the history. White text on
 * every colour has a contrast ratio of at least 4.5:1 (checked in `categories.test.ts`). The colour is never
 * the only signal: the code and the name are always written next to it.
 */

export const CATEGORY_PALETTE = [
  '#b42318',
  '#9a3412',
  '#a21caf',
  '#6d28d9',
  '#1d4ed8',
  '#0f766e',
  '#4d7c0f',
  '#92400e',
  '#be123c',
  '#7e22ce',
  '#0e7490',
  '#c2410c',
  '#15803d',
  '#4338ca',
  '#9d174d',
  '#475569',
] as const;

/** The colour of a category code: `S1`…`S16` and `O1`…`O16` by number, any other code by a stable hash. */
export function categoryColor(code: string): string {
  const m = /^[SO](\d{1,2})$/.exec(code.trim().toUpperCase());
  if (m) {
    const n = Number(m[1]);
    if (n >= 1) return CATEGORY_PALETTE[(n - 1) % CATEGORY_PALETTE.length]!;
  }
  let hash = 0;
  for (const ch of code.toUpperCase()) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return CATEGORY_PALETTE[hash % CATEGORY_PALETTE.length]!;
}
