/**
 * The chatbot sites the prompt guard knows, as data: one adapter per site with its hosts and, for each role on
 * the page, several CSS selectors ranked best first. Selectors prefer `data-*` attributes and structure over
 * labels (labels are localized); a label selector, where there is one, comes last. Sites change their markup
 * every few months, so every role has fallbacks, and the content script falls back further to the generic
 * detector (`GENERIC_SITE`) when none of a site's own selectors finds a visible composer.
 *
 * Public API:
 * - `ChatbotSite`, `SiteSelectors`, `SiteKeys`, `EditorKind`: the adapter shape.
 * - `CHATBOT_SITES`: every named site, in the order people know them.
 * - `GENERIC_SITE`: the generic detector's selectors, used on sites the person adds and as a fallback.
 * - `getChatbotSite(id)`: an adapter by id.
 */

/** The kind of editor a site's main composer is (what its fixture page reproduces). */
export type EditorKind = 'textarea' | 'prosemirror' | 'quill' | 'lexical';

export interface SiteSelectors {
  /** The editor people type the prompt into: a textarea or the root of a contenteditable. */
  composer: readonly string[];
  /** Ancestors that hold one composer and its controls (a form, a fieldset). Optional: nearest common ancestor. */
  container: readonly string[];
  /** The send control. Checked after `stop`: a control that is in stop mode is never a send. */
  send: readonly string[];
  /** The control that stops a reply while it streams (often the send button in another state). */
  stop: readonly string[];
  /** The element holding one finished reply's text (the one that gets blurred when flagged). */
  reply: readonly string[];
  /** One user turn of the conversation (the prompt a reply answers). */
  userTurn: readonly string[];
  /** Markers on a reply or one of its ancestors that say it is still being written. */
  streaming: readonly string[];
  /** Things in the composer's container that are attachments the check cannot see. */
  attachments: readonly string[];
  /** Ancestors whose content is stale or hidden (earlier routes kept mounted, server-rendered copies). */
  stale: readonly string[];
}

/** What the keyboard does in the composer. */
export interface SiteKeys {
  /** Plain Enter sends (every named site). */
  enter: 'send' | 'newline';
  /** Ctrl+Enter / Cmd+Enter. */
  modEnter: 'send' | 'newline';
}

export interface ChatbotSite {
  /** Stable id, the key of `chatbotSites` in the settings. */
  id: string;
  /** The site's name as people know it. */
  name: string;
  /** Every host the site is served from (exact host names). */
  hosts: readonly string[];
  /** Path prefixes the chat lives under, when the host serves other things too. */
  paths?: readonly string[];
  editor: EditorKind;
  selectors: SiteSelectors;
  keys: SiteKeys;
  /** When several controls match `send` in one container, which one sends. Default 'first'. */
  sendPick?: 'first' | 'last';
}

const ENTER_SENDS: SiteKeys = { enter: 'send', modEnter: 'send' };

/** Ancestors that mark hidden or stale copies on any site. */
const STALE_COMMON = ['[aria-hidden="true"]', '[inert]', '[hidden]', 'template'] as const;

/** Attachment markers that mean the same thing on many sites. */
const ATTACHMENTS_COMMON = [
  '[data-testid*="attachment" i]:not(button):not(input)',
  '[data-testid*="file-preview" i]',
  '[data-testid*="file-thumbnail" i]',
  '[data-testid="file-tile"]',
] as const;

/** Generic reply markers used by several sites and by the generic detector. */
const REPLY_COMMON = [
  '[data-message-author-role="assistant"]',
  '[data-message-role="assistant"]',
  '[data-testid="assistant-message"]',
  '[data-role="assistant"]',
  '[data-author="assistant"]',
] as const;

const USER_COMMON = [
  '[data-message-author-role="user"]',
  '[data-message-role="user"]',
  '[data-testid="user-message"]',
  '[data-role="user"]',
  '[data-author="user"]',
] as const;

function selectors(s: Partial<SiteSelectors> & Pick<SiteSelectors, 'composer' | 'send'>): SiteSelectors {
  return {
    container: s.container ?? ['form'],
    stop: s.stop ?? [],
    reply: s.reply ?? REPLY_COMMON,
    userTurn: s.userTurn ?? USER_COMMON,
    streaming: s.streaming ?? ['[aria-busy="true"]'],
    attachments: [...(s.attachments ?? []), ...ATTACHMENTS_COMMON],
    stale: [...(s.stale ?? []), ...STALE_COMMON],
    composer: s.composer,
    send: s.send,
  };
}

export const CHATBOT_SITES: readonly ChatbotSite[] = [
  {
    id: 'chatgpt',
    name: 'ChatGPT',
    hosts: ['chatgpt.com', 'chat.openai.com'],
    editor: 'prosemirror',
    keys: ENTER_SENDS,
    selectors: selectors({
      composer: [
        '#prompt-textarea[contenteditable="true"]',
        'form[data-type="unified-composer"] [contenteditable="true"][role="textbox"]',
        'form[data-chatgpt-composer] .ProseMirror[contenteditable="true"]',
        '.ProseMirror[data-composer-markdown][contenteditable="true"]',
        'textarea#mobile-composer-prompt',
        'textarea[name="prompt"]',
        'textarea[name="prompt-textarea"]',
      ],
      container: ['form[data-type="unified-composer"]', 'form[data-chatgpt-composer]', 'form'],
      send: [
        '[data-testid="send-button"]',
        '#composer-submit-button',
        'button[data-composer-submit]',
        'form[data-chatgpt-composer] button[type="submit"]',
        'button[aria-label="Send"]',
      ],
      stop: [
        '[data-testid="stop-button"]',
        'button[aria-label="Stop"]',
        'button[aria-label="Stop streaming"]',
      ],
      reply: [
        '[data-message-author-role="assistant"] .markdown',
        '[data-turn="assistant"] .markdown',
        '[data-message-author-role="assistant"]',
      ],
      userTurn: ['[data-message-author-role="user"]', '[data-turn="user"]'],
      streaming: ['.result-streaming', '[data-writing-block]', '[aria-busy="true"]'],
      stale: ['[data-app-shell-active-page="false"]'],
    }),
  },
  {
    id: 'claude',
    name: 'Claude',
    hosts: ['claude.ai'],
    editor: 'prosemirror',
    keys: ENTER_SENDS,
    selectors: selectors({
      composer: [
        '[data-testid="chat-input"][contenteditable="true"]',
        'fieldset .ProseMirror[contenteditable="true"]',
        '.ProseMirror[contenteditable="true"][role="textbox"]',
        'div[contenteditable="true"][aria-label="Write your prompt to Claude"]',
      ],
      container: ['fieldset', 'form'],
      send: [
        'button[data-testid="send-button"]',
        'button[aria-label="Send message"]',
        'fieldset button[type="submit"]',
      ],
      stop: ['button[data-testid="stop-button"]', 'button[aria-label="Stop response"]'],
      reply: ['.font-claude-response .standard-markdown', '.font-claude-response', ...REPLY_COMMON],
      userTurn: ['[data-testid="user-message"]', '[data-user-message-bubble]'],
      streaming: ['[data-is-streaming="true"]'],
      attachments: ['[data-testid*="pasted" i]'],
    }),
  },
  {
    id: 'gemini',
    name: 'Gemini',
    hosts: ['gemini.google.com'],
    editor: 'quill',
    keys: ENTER_SENDS,
    selectors: selectors({
      composer: [
        'rich-textarea .ql-editor[contenteditable="true"]',
        '.ql-editor[contenteditable="true"][role="textbox"]',
        '.ql-editor[contenteditable="true"]',
      ],
      container: ['input-area-v2', 'input-container', '.input-area', 'form'],
      send: ['button.send-button', 'button[aria-label="Send message"]'],
      stop: [
        'button.send-button.stop',
        'button:has(mat-icon[fonticon="stop"])',
        'button[aria-label="Stop response"]',
      ],
      reply: ['model-response message-content .markdown', 'model-response message-content', 'model-response'],
      userTurn: ['user-query'],
      streaming: ['[aria-busy="true"]'],
      attachments: ['uploader-file-preview', '.file-preview-container'],
    }),
  },
  {
    id: 'copilot',
    name: 'Copilot',
    hosts: ['copilot.microsoft.com', 'www.copilot.com', 'copilot.com'],
    editor: 'textarea',
    keys: ENTER_SENDS,
    selectors: selectors({
      composer: ['textarea#userInput', 'textarea[data-testid="composer-input"]'],
      container: ['form', '[data-testid="composer"]'],
      send: ['button[data-testid="submit-button"]', 'button[aria-label="Submit message"]'],
      stop: ['button[data-testid="stop-button"]'],
      reply: ['[data-content="ai-message"]', ...REPLY_COMMON],
      userTurn: ['[data-content="user-message"]', ...USER_COMMON],
    }),
  },
  {
    id: 'perplexity',
    name: 'Perplexity',
    hosts: ['www.perplexity.ai', 'perplexity.ai'],
    editor: 'lexical',
    keys: ENTER_SENDS,
    selectors: selectors({
      composer: [
        '#ask-input[data-lexical-editor="true"]',
        '[data-lexical-editor="true"][contenteditable="true"]',
        'textarea#ask-input',
      ],
      container: ['form', '[data-testid="ask-input-container"]'],
      send: ['button[data-testid="submit-button"]', 'button[aria-label="Submit"]'],
      stop: ['[data-testid="stop-button"]', 'button[aria-label="Stop"]'],
      reply: ['.prose[data-renderer="lm"]', '[id^="markdown-content-"]', ...REPLY_COMMON],
    }),
  },
  {
    id: 'deepseek',
    name: 'DeepSeek',
    hosts: ['chat.deepseek.com'],
    editor: 'textarea',
    keys: ENTER_SENDS,
    sendPick: 'last',
    selectors: selectors({
      composer: ['textarea#chat-input', 'textarea[placeholder*="DeepSeek"]'],
      container: ['form', '[data-composer]'],
      send: ['div[role="button"][aria-disabled]', 'button[type="submit"]'],
      reply: ['.ds-message .ds-markdown', '.ds-markdown'],
      userTurn: ['.ds-message:not(:has(.ds-markdown))'],
    }),
  },
  {
    id: 'grok',
    name: 'Grok',
    hosts: ['grok.com'],
    editor: 'prosemirror',
    keys: ENTER_SENDS,
    selectors: selectors({
      composer: [
        'form .ProseMirror[contenteditable="true"]',
        '.ProseMirror[contenteditable="true"]',
        'textarea[aria-label="Ask Grok anything"]',
        'form textarea',
      ],
      send: ['form button[type="submit"]', 'button[aria-label="Submit"]'],
      stop: ['button[aria-label="Stop model response"]'],
      reply: ['div[id^="response-"] .response-content-markdown', '.response-content-markdown'],
    }),
  },
  {
    id: 'lechat',
    name: 'Le Chat',
    hosts: ['chat.mistral.ai'],
    editor: 'prosemirror',
    keys: ENTER_SENDS,
    selectors: selectors({
      composer: ['form .ProseMirror[contenteditable="true"]', 'textarea[name="message.text"]'],
      send: ['form button[type="submit"]'],
      stop: ['button[aria-label="Stop"]', 'form button[data-state="stop"]'],
      reply: ['[data-message-author-role="assistant"] [data-message-part-type="answer"]', ...REPLY_COMMON],
    }),
  },
  {
    id: 'metaai',
    name: 'Meta AI',
    hosts: ['www.meta.ai', 'meta.ai'],
    editor: 'lexical',
    keys: ENTER_SENDS,
    selectors: selectors({
      composer: [
        '[data-testid="composer-input"][contenteditable="true"]',
        '[data-lexical-editor="true"][contenteditable="true"]',
        'textarea[data-testid="composer-input"]',
      ],
      container: ['form', '[data-testid="composer"]'],
      send: ['[data-testid="composer-send-button"]', 'button[aria-label="Send"]'],
      stop: ['[data-testid="composer-stop-button"]'],
      reply: ['[data-testid="assistant-message"]', ...REPLY_COMMON],
      userTurn: ['[data-testid="user-message"]', ...USER_COMMON],
    }),
  },
  {
    id: 'huggingchat',
    name: 'HuggingChat',
    hosts: ['huggingface.co'],
    paths: ['/chat'],
    editor: 'textarea',
    keys: ENTER_SENDS,
    selectors: selectors({
      composer: ['form textarea[placeholder]', 'form textarea'],
      send: ['form button[type="submit"]', 'button[aria-label="Send message"]'],
      stop: ['button.stop-generating-btn', 'button[aria-label="Stop generating"]'],
      reply: ['[data-message-role="assistant"] .prose', '[data-message-role="assistant"]'],
      userTurn: ['[data-message-role="user"]'],
    }),
  },
  {
    id: 'qwen',
    name: 'Qwen',
    hosts: ['chat.qwen.ai'],
    editor: 'textarea',
    keys: ENTER_SENDS,
    selectors: selectors({
      composer: ['textarea#chat-input', 'textarea.chat-input'],
      container: ['.chat-message-input', 'form'],
      send: ['#send-message-button', 'button.send-button'],
      stop: ['.stop-button', 'button[aria-label="Stop"]'],
      reply: ['.qwen-chat-message-assistant .markdown-content-container', '.qwen-chat-message-assistant'],
      userTurn: ['.qwen-chat-message-user'],
    }),
  },
  {
    id: 'kimi',
    name: 'Kimi',
    hosts: ['www.kimi.com', 'kimi.com', 'kimi.moonshot.cn'],
    editor: 'lexical',
    keys: { enter: 'send', modEnter: 'newline' },
    selectors: selectors({
      composer: [
        '.chat-input-editor[data-lexical-editor="true"]',
        '[data-lexical-editor="true"][contenteditable="true"]',
      ],
      container: ['.chat-input', '.chat-input-editor-container', 'form'],
      send: ['.send-button-container:not(.disabled) .send-button', '.send-button'],
      stop: ['.send-button-container.stop .send-button', '.stop-button'],
      reply: ['.segment-assistant .markdown', '.chat-content-item-assistant .markdown', ...REPLY_COMMON],
      userTurn: ['.segment-user', '.chat-content-item-user', ...USER_COMMON],
    }),
  },
  {
    id: 'poe',
    name: 'Poe',
    hosts: ['poe.com'],
    editor: 'textarea',
    keys: ENTER_SENDS,
    selectors: selectors({
      composer: ['textarea[class*="GrowingTextArea_textArea"]', 'footer textarea'],
      container: ['[class*="ChatMessageInputContainer"]', 'footer', 'form'],
      send: ['button[class*="ChatMessageSendButton_sendButton"]', 'button[data-button-send="true"]'],
      stop: ['button[class*="ChatStopMessageButton"]'],
      reply: [
        '[class*="Message_leftSideMessageBubble"] [class*="Markdown_markdownContainer"]',
        ...REPLY_COMMON,
      ],
      userTurn: ['[class*="Message_rightSideMessageBubble"]', ...USER_COMMON],
    }),
  },
];

/**
 * The generic detector: any visible textarea or contenteditable that has a send-like control next to it. Its send
 * selectors are deliberately loose; the content script only counts a control as a send when it sits with a
 * composer in one small container and does not look like a stop, voice or upload control.
 */
export const GENERIC_SITE: ChatbotSite = {
  id: 'generic',
  name: 'Chatbot',
  hosts: [],
  editor: 'textarea',
  keys: ENTER_SENDS,
  selectors: selectors({
    composer: [
      'textarea',
      '[contenteditable="true"]',
      '[contenteditable=""]',
      '[contenteditable="plaintext-only"]',
    ],
    container: ['form'],
    send: [
      'button[type="submit"]',
      'input[type="submit"]',
      '[data-testid*="send" i]',
      '[data-testid*="submit" i]',
      'button[id*="send" i]',
      'button[class*="send" i]',
      '[role="button"][class*="send" i]',
      'button[aria-label*="send" i]',
      'button[title*="send" i]',
    ],
    stop: ['[data-testid*="stop" i]', 'button[aria-label*="stop" i]', 'button[class*="stop" i]'],
  }),
};

/** Words in a control's attributes that say it is not a send even if it matched a loose selector. */
export const NOT_A_SEND = /stop|cancel|voice|dictat|micro|\bmic\b|attach|upload|record|search-toggle/i;

export function getChatbotSite(id: string): ChatbotSite | undefined {
  return CHATBOT_SITES.find((site) => site.id === id);
}
