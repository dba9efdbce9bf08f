/**
 * The prompt guard's fixture pages, one per named chatbot site, served at the site's real URL by the site server
 * (`harness/sites.ts`). Each reproduces the site's composer markup (an editor of the site's kind) and its send
 * behaviour (`pages/fake-chat.js`: Enter and the send control send, recording `window.__sent`).
 *
 * ChatGPT, Gemini and Claude are built from the real conversation markup in `/work/shared/chatbots/fixtures/`
 * (ChatGPT's capture holds its real composer too; Gemini's and Claude's get a composer added), so replies are read
 * from real markup. The others are small pages under `pages/`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CHATBOT_SITES, type EditorKind } from '../../../lib/chatbots/sites';
import type { SiteServer } from '../harness/sites';
import { REPO_ROOT } from '../harness/util';

export const PAGES = path.join(REPO_ROOT, 'test/e2e/chatbots/pages');
export const SHARED_FIXTURES = path.resolve(REPO_ROOT, '../shared/chatbots/fixtures');

export interface SiteFixture {
  id: string;
  url: string;
  editor: EditorKind;
  /** Where a person types. */
  composer: string;
  /** The send control (present once there is text). */
  send: string;
  /** The element that holds a streamed reply's text on this page. */
  reply: string;
  html(): string;
}

export const SCRIPT = '<script src="/__fake/fake-chat.js"></script>';

/** Real captures may point at other hosts; the test network refuses those, so they are cut out. */
function withoutExternalUrls(html: string): string {
  return html.replace(/https?:\/\/(?!www\.w3\.org)[^\s"'<>)]+/g, '');
}

function shared(name: string): string {
  return withoutExternalUrls(readFileSync(path.join(SHARED_FIXTURES, name), 'utf8'));
}

function page(name: string): () => string {
  return () => readFileSync(path.join(PAGES, name), 'utf8');
}

function inject(html: string, anchor: string, addition: string, where: 'after' | 'before' = 'after'): string {
  const at = html.indexOf(anchor);
  if (at < 0) throw new Error(`fixture anchor not found: ${anchor}`);
  const i = where === 'after' ? at + anchor.length : at;
  return html.slice(0, i) + addition + html.slice(i);
}

const CHATGPT_CONFIG = `<script>
  window.fakeChat = {
    editor: 'prosemirror',
    composer: '#prompt-textarea',
    send: '#composer-submit-button',
    sendMode: 'absent',
    sendSlot: '[data-composer-transition-slot="trailing"] > div',
    sendHtml: '<button id="composer-submit-button" data-testid="send-button" aria-label="Send prompt" type="button" class="composer-submit-btn">Send</button>',
    voice: 'button[aria-label="Start Voice"]',
    stop: { morph: { 'data-testid': 'stop-button', 'aria-label': 'Stop streaming' } },
    thread: 'div:has(> [data-turn-id-container])',
    user: (t) => '<div data-turn-id-container="u"><section data-turn="user"><div data-message-author-role="user"><div class="whitespace-pre-wrap">' + t + '</div></div></section></div>',
    reply: () => {
      const turn = document.createElement('section');
      turn.setAttribute('data-turn', 'assistant');
      turn.innerHTML = '<div data-message-author-role="assistant"><div class="markdown prose"></div></div>';
      return { turn, body: turn.querySelector('.markdown') };
    },
  };
</script>`;

export const GEMINI_COMPOSER = `
      <style>.ql-clipboard{position:absolute;left:-10000px;height:1px;overflow-y:hidden;top:50%}</style>
      <rich-textarea class="text-input-field_textarea" style="display:block;position:relative">
        <div class="ql-editor ql-blank textarea new-input-ui" contenteditable="true" role="textbox" aria-multiline="true"
          aria-label="Enter a prompt for Gemini" data-placeholder="Ask Gemini" style="min-height:40px;border:1px solid #ccc"><p><br></p></div>
        <div class="ql-clipboard" contenteditable="true" tabindex="-1"></div>
      </rich-textarea>
      <div class="send-button-container"></div>`;

export const GEMINI_CONFIG = `<script>
  window.fakeChat = {
    editor: 'quill',
    composer: 'rich-textarea .ql-editor',
    send: 'button.send-button',
    sendMode: 'absent',
    sendSlot: '.send-button-container',
    sendHtml: '<button class="send-button submit" aria-label="Send message" aria-disabled="false">Send</button>',
    stop: { morph: { class: 'send-button stop', 'aria-label': 'Stop response' } },
    streaming: { attr: 'aria-busy', on: 'true', off: 'false' },
    thread: 'infinite-scroller',
    user: (t) => '<div class="conversation-container"><user-query><div class="query-text">' + t + '</div></user-query></div>',
    reply: () => {
      const turn = document.createElement('model-response');
      turn.innerHTML = '<message-content class="model-response-text"><div class="markdown markdown-main-panel"></div></message-content>';
      return { turn, body: turn.querySelector('.markdown') };
    },
  };
</script>`;

const CLAUDE_COMPOSER = `
  <fieldset class="flex w-full min-w-0 flex-col" style="position:fixed;bottom:10px;left:10px;right:10px;background:#fff">
    <div contenteditable="true" role="textbox" data-testid="chat-input" class="tiptap ProseMirror" translate="no"
      aria-label="Write your prompt to Claude" aria-multiline="true" style="min-height:40px;border:1px solid #ccc"><p><br></p></div>
    <div class="flex gap-2"><button type="button" aria-label="Add files">+</button>
    <button type="button" aria-label="Send message" disabled>Send</button></div>
  </fieldset>`;

const CLAUDE_CONFIG = `<script>
  window.fakeChat = {
    editor: 'prosemirror',
    composer: '[data-testid="chat-input"]',
    send: 'fieldset button[aria-label="Send message"], fieldset button[aria-label="Stop response"]',
    sendMode: 'disabled',
    stop: { morph: { 'aria-label': 'Stop response' } },
    streaming: { attr: 'data-is-streaming', on: 'true', off: 'false' },
    thread: '.flex-1.flex.flex-col.px-4.pt-1',
    user: (t) => '<div><div data-testid="user-message" class="font-large"><p>' + t + '</p></div></div>',
    reply: () => {
      const turn = document.createElement('div');
      turn.innerHTML = '<div class="font-claude-response"><div class="standard-markdown"></div></div>';
      return { turn, body: turn.querySelector('.standard-markdown') };
    },
  };
</script>`;

function hostsOf(id: string): readonly string[] {
  const site = CHATBOT_SITES.find((s) => s.id === id);
  if (!site) throw new Error(`unknown site ${id}`);
  return site.hosts;
}

export const FIXTURES: readonly SiteFixture[] = [
  {
    id: 'chatgpt',
    url: 'https://chatgpt.com/',
    editor: 'prosemirror',
    composer: '#prompt-textarea',
    send: '#composer-submit-button',
    reply: '[data-message-author-role="assistant"] .markdown',
    html: () =>
      `<!doctype html><html><head><meta charset="utf-8"><title>ChatGPT</title></head><body>${shared(
        'chatgpt-turns-formatting-2026-07.html',
      )}${CHATGPT_CONFIG}${SCRIPT}</body></html>`,
  },
  {
    id: 'claude',
    url: 'https://claude.ai/new',
    editor: 'prosemirror',
    composer: '[data-testid="chat-input"]',
    send: 'fieldset button[aria-label="Send message"]',
    reply: '.font-claude-response .standard-markdown',
    html: () =>
      inject(
        shared('claude-rebuilt.html'),
        '</body>',
        `${CLAUDE_COMPOSER}${CLAUDE_CONFIG}${SCRIPT}`,
        'before',
      ),
  },
  {
    id: 'gemini',
    url: 'https://gemini.google.com/app',
    editor: 'quill',
    composer: 'rich-textarea .ql-editor',
    send: 'button.send-button',
    reply: 'model-response message-content .markdown',
    html: () =>
      inject(
        inject(
          shared('gemini-turns-2026-07.html'),
          '<fieldset class="input-area-container">',
          GEMINI_COMPOSER,
        ),
        '</body>',
        `${GEMINI_CONFIG}${SCRIPT}`,
        'before',
      ),
  },
  {
    id: 'copilot',
    url: 'https://copilot.microsoft.com/',
    editor: 'textarea',
    composer: '#userInput',
    send: 'button[data-testid="submit-button"]',
    reply: '[data-content="ai-message"]',
    html: page('copilot.html'),
  },
  {
    id: 'perplexity',
    url: 'https://www.perplexity.ai/',
    editor: 'lexical',
    composer: '#ask-input',
    send: 'button[data-testid="submit-button"]',
    reply: '.prose[data-renderer="lm"]',
    html: page('perplexity.html'),
  },
  {
    id: 'deepseek',
    url: 'https://chat.deepseek.com/',
    editor: 'textarea',
    composer: '#chat-input',
    send: 'div[role="button"].send',
    reply: '.ds-markdown',
    html: page('deepseek.html'),
  },
  {
    id: 'grok',
    url: 'https://grok.com/',
    editor: 'prosemirror',
    composer: 'form .ProseMirror',
    send: 'form button[type="submit"]',
    reply: '.response-content-markdown',
    html: page('grok.html'),
  },
  {
    id: 'lechat',
    url: 'https://chat.mistral.ai/chat',
    editor: 'prosemirror',
    composer: 'form .ProseMirror',
    send: 'form button[type="submit"]',
    reply: '[data-message-part-type="answer"]',
    html: page('lechat.html'),
  },
  {
    id: 'metaai',
    url: 'https://www.meta.ai/',
    editor: 'lexical',
    composer: '[data-testid="composer-input"]',
    send: '[data-testid="composer-send-button"]',
    reply: '[data-testid="assistant-message"]',
    html: page('metaai.html'),
  },
  {
    id: 'huggingchat',
    url: 'https://huggingface.co/chat/',
    editor: 'textarea',
    composer: 'form textarea',
    send: 'form button[type="submit"]',
    reply: '[data-message-role="assistant"] .prose',
    html: page('huggingchat.html'),
  },
  {
    id: 'qwen',
    url: 'https://chat.qwen.ai/',
    editor: 'textarea',
    composer: '#chat-input',
    send: '#send-message-button',
    reply: '.qwen-chat-message-assistant .markdown-content-container',
    html: page('qwen.html'),
  },
  {
    id: 'kimi',
    url: 'https://www.kimi.com/',
    editor: 'lexical',
    composer: '.chat-input-editor',
    send: '.send-button',
    reply: '.segment-assistant .markdown',
    html: page('kimi.html'),
  },
  {
    id: 'poe',
    url: 'https://poe.com/',
    editor: 'textarea',
    composer: 'textarea[class^="GrowingTextArea_textArea"]',
    send: 'button[class*="ChatMessageSendButton_sendButton"]',
    reply: '[class*="Markdown_markdownContainer"]',
    html: page('poe.html'),
  },
];

export function fixture(id: string): SiteFixture {
  const found = FIXTURES.find((f) => f.id === id);
  if (!found) throw new Error(`no fixture for ${id}`);
  return found;
}

/** Every host the fixtures are served at (each fixture's site's hosts). */
export function fixtureHosts(fixtures: readonly SiteFixture[] = FIXTURES): string[] {
  return [...new Set(fixtures.flatMap((f) => hostsOf(f.id)))];
}

/** Routes each fixture's URL (built fresh on each request) and the page script on every host. */
export function serveFixtures(server: SiteServer, fixtures: readonly SiteFixture[] = FIXTURES): void {
  for (const f of fixtures) {
    server.route(f.url, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(f.html());
    });
    for (const host of hostsOf(f.id)) server.mount(`https://${host}/__fake/`, PAGES);
  }
}
