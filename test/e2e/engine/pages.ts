/**
 * Test pages for the engine's end-to-end tests, built in code so every test has text no other test has sent
 * (the verdict cache lives as long as the browser profile). Served through `StaticServer.route`.
 */

export interface Para {
  id: string;
  text: string;
}

/** A page of paragraphs, small enough type that a few dozen fit in the viewport (all "visible"). */
export function pageHtml(title: string, paras: readonly Para[]): string {
  const body = paras.map((p) => `    <p id="${p.id}">${p.text}</p>`).join('\n');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${title}</title>
    <link rel="icon" href="data:," />
    <style>body { font: 9px/1.2 sans-serif; margin: 4px; } p { margin: 1px 0; }</style>
  </head>
  <body>
${body}
  </body>
</html>
`;
}

const TOPICS = [
  'the morning market sells apples, pears and fresh bread',
  'a quiet library keeps old maps of the river valley',
  'the bus to the harbour leaves every twenty minutes',
  'children fly kites on the hill when the wind is up',
  'the bakery on the corner opens before sunrise',
  'a choir rehearses in the hall on Thursday evenings',
  'the ferry crosses the lake twice an hour in summer',
  'gardeners plant tulips along the town square',
];

/**
 * `n` paragraphs, each about `words` words long and unique (a run tag and a zero-padded number no other
 * paragraph contains). Paragraphs whose index is in `flagged` start with that trigger phrase.
 */
export function paragraphs(
  tag: string,
  n: number,
  words: number,
  flagged: Record<number, string> = {},
): Para[] {
  return Array.from({ length: n }, (_, i) => {
    const num = String(i + 1).padStart(2, '0');
    const filler: string[] = [];
    for (let k = 0; filler.join(' ').split(' ').length < words; k++) {
      filler.push(`${TOPICS[(i + k) % TOPICS.length]!}.`);
    }
    const trigger = flagged[i];
    const text = `${trigger ? `${trigger} ` : ''}[${tag}-${num}] ${filler.join(' ')}`;
    return { id: `p${num}`, text };
  });
}

/** A short random tag, so reruns in one profile and tests in one browser never share text. */
export function runTag(prefix: string): string {
  return `${prefix}${Math.random().toString(36).slice(2, 8)}`;
}
