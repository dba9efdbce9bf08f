/**
 * A generated heavy chatbot conversation page: the real Gemini conversation markup of the shared fixture, its turns
 * repeated until the page holds about `targetBytes` of markup (a long conversation), with big tables and open
 * shadow roots in the replies, and the Gemini composer and send behaviour of the fixture page. Built like the
 * pages on which a send right after load was once neither checked nor sent.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SHARED_FIXTURES } from './fixtures';

function table(rows: number, seed: number): string {
  let out = '<table><thead><tr><th>Step</th><th>Detail</th><th>Note</th></tr></thead><tbody>';
  for (let r = 0; r < rows; r++) {
    out += `<tr><td>${seed}.${r}</td><td>measure ${r * 7 + seed} grams of flour for batch ${seed}</td><td>row ${r} of the plan</td></tr>`;
  }
  return `${out}</tbody></table>`;
}

/**
 * The heavy page's HTML; `composer`, `config` and `script` are the fixture's Gemini composer, fake-chat config and
 * send behaviour; `boot` makes the app start late (`fake-chat.js`: `bootMs`, `bootBusyMs`).
 */
export function heavyGeminiHtml(options: {
  targetBytes: number;
  composer: string;
  config: string;
  script: string;
  boot?: { bootMs: number; bootBusyMs: number };
}): string {
  const src = readFileSync(path.join(SHARED_FIXTURES, 'gemini-turns-2026-07.html'), 'utf8').replace(
    /https?:\/\/(?!www\.w3\.org)[^\s"'<>)]+/g,
    '',
  );
  const start = src.indexOf('<div class="conversation-container');
  const scroller = src.indexOf('</infinite-scroller>');
  if (start < 0 || scroller < 0) throw new Error('the Gemini fixture has no conversation to repeat');
  const turns = src.slice(start, scroller);
  const parts: string[] = [];
  let size = src.length;
  for (let i = 0; size < options.targetBytes; i++) {
    // Every copy is a little different, so nothing is answered from the cache of another copy.
    const copy = turns
      .replace(/<p>/g, `<p data-copy="${i}">Turn ${i}: `)
      .replace(
        '<p data-copy',
        i % 3 === 0 ? `<p>GLTEST-S${(i % 13) + 1} part ${i}</p><p data-copy` : '<p data-copy',
      );
    const extra =
      `<div class="conversation-container"><model-response><message-content class="model-response-text">` +
      `<div class="markdown markdown-main-panel"><p>Here is the table for part ${i}.</p>${table(40, i)}` +
      `<div class="shadow-host" data-n="${i}"></div></div></message-content></model-response></div>`;
    parts.push(copy, extra);
    size += copy.length + extra.length;
  }
  const shadowScript = `<script>
    for (const host of document.querySelectorAll('.shadow-host')) {
      const root = host.attachShadow({ mode: 'open' });
      root.innerHTML = '<p>Code block ' + host.dataset.n + ': const total = items.reduce((a, b) => a + b, 0);</p>';
    }
  </script>`;
  let html = src.slice(0, scroller) + parts.join('') + src.slice(scroller);
  html = html.replace(
    '<fieldset class="input-area-container">',
    `<fieldset class="input-area-container">${options.composer}`,
  );
  const boot = options.boot
    ? `<script>Object.assign(window.fakeChat, ${JSON.stringify(options.boot)});</script>`
    : '';
  return html.replace('</body>', `${shadowScript}${options.config}${boot}${options.script}</body>`);
}
