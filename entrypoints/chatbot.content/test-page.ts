/**
 * A minimal chatbot page for the prompt guard's DOM unit tests (happy-dom): a composer and a send button whose
 * page handlers record what the "site" sent, plus a fake background. Not part of the content script bundle.
 */
import { type Mock, vi } from 'vitest';
import type { PromptConfig } from '@/lib/chatbots/config';
import type { ChatbotSite } from '@/lib/chatbots/sites';
import type { PromptCheckResult } from '@/utils/protocol/prompt';
import { PromptGuard } from './guard';
import { createTranslate } from './i18n';

export const CONFIG: PromptConfig = {
  active: true,
  siteId: 'test',
  mode: 'block',
  failMode: 'open',
  sendAnyway: true,
  checkReplies: false,
  timeoutMs: 10_000,
};

/** A site adapter for the test page. */
export const TEST_SITE: ChatbotSite = {
  id: 'test',
  name: 'Test chat',
  hosts: ['chat.test'],
  editor: 'prosemirror',
  keys: { enter: 'send', modEnter: 'send' },
  selectors: {
    composer: ['#composer'],
    container: ['form'],
    send: ['#send'],
    stop: ['#stop'],
    reply: ['.reply'],
    userTurn: ['.user'],
    streaming: ['[aria-busy="true"]'],
    attachments: ['[data-testid="file-tile"]'],
    stale: ['[aria-hidden="true"]', '[inert]'],
  },
};

/** happy-dom lays nothing out: every element gets a box, except those marked `data-test-box="none"`. */
export function giveElementsBoxes(): void {
  Element.prototype.getBoundingClientRect = function (this: Element) {
    const none = this.closest('[data-test-box="none"]');
    const w = none ? 0 : 300;
    const h = none ? 0 : 40;
    return {
      x: 10,
      y: 100,
      width: w,
      height: h,
      top: 100,
      left: 10,
      right: 10 + w,
      bottom: 100 + h,
      toJSON() {},
    } as DOMRect;
  };
}

export interface TestPage {
  composer: HTMLElement;
  send: HTMLButtonElement;
  /** What the site sent. */
  sent: string[];
  /** Enter keydowns the site saw. */
  keys: KeyboardEvent[];
  setText(text: string): void;
  pressEnter(init?: KeyboardEventInit): KeyboardEvent;
}

/**
 * The page: `#composer` (contenteditable, one `<p>` per line) in a form with `#send`. Enter (not Shift, not while
 * composing) and the button send the composer's text and clear it. `ignoreSynthetic`: the site's Enter handler
 * ignores untrusted events (the guard must use the button).
 */
export function makePage(opts: { ignoreSynthetic?: boolean; textarea?: boolean } = {}): TestPage {
  document.body.innerHTML = `
    <div id="thread"></div>
    <form id="form">
      ${opts.textarea ? '<textarea id="composer"></textarea>' : '<div id="composer" contenteditable="true"><p><br></p></div>'}
      <button id="send" type="button">Send</button>
    </form>`;
  const composer = document.getElementById('composer') as HTMLElement;
  const send = document.getElementById('send') as HTMLButtonElement;
  const sent: string[] = [];
  const keys: KeyboardEvent[] = [];
  const read = () =>
    composer instanceof HTMLTextAreaElement
      ? composer.value
      : [...composer.querySelectorAll('p')].map((p) => p.textContent ?? '').join('\n');
  const doSend = () => {
    const text = read();
    if (!text.trim()) return;
    sent.push(text);
    if (composer instanceof HTMLTextAreaElement) composer.value = '';
    else composer.innerHTML = '<p><br></p>';
  };
  composer.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    keys.push(e);
    if (e.isComposing || e.keyCode === 229 || e.shiftKey) return;
    if (opts.ignoreSynthetic && !e.isTrusted) return;
    e.preventDefault();
    doSend();
  });
  send.addEventListener('click', doSend);
  return {
    composer,
    send,
    sent,
    keys,
    setText(text) {
      if (composer instanceof HTMLTextAreaElement) composer.value = text;
      else
        composer.innerHTML = text
          .split('\n')
          .map((l) => `<p>${l || '<br>'}</p>`)
          .join('');
    },
    pressEnter(init = {}) {
      const e = new KeyboardEvent('keydown', {
        key: 'Enter',
        code: 'Enter',
        keyCode: 13,
        bubbles: true,
        cancelable: true,
        composed: true,
        ...init,
      });
      composer.dispatchEvent(e);
      return e;
    },
  };
}

export type CheckAnswer = Omit<PromptCheckResult, 'config'> | Promise<Omit<PromptCheckResult, 'config'>>;

export interface FakeBackground {
  hello: Mock<() => Promise<PromptConfig>>;
  check: Mock<(text: string, ref: string) => Promise<PromptCheckResult>>;
  /** Texts the guard asked about. */
  checked: string[];
  config: PromptConfig;
}

/** A background that answers hello with `config` and checks with `answer(text)`. */
export function fakeBackground(
  config: Partial<PromptConfig> = {},
  answer: (text: string) => CheckAnswer = () => ({ status: 'safe' }),
): FakeBackground {
  const full = { ...CONFIG, ...config };
  const checked: string[] = [];
  const bg: FakeBackground = {
    config: full,
    checked,
    hello: vi.fn(async () => bg.config),
    check: vi.fn(async (text: string, _ref: string) => {
      checked.push(text);
      const result = await answer(text);
      return { ...result, config: bg.config } as PromptCheckResult;
    }),
  };
  return bg;
}

export function startGuard(
  bg: FakeBackground,
  site: ChatbotSite = TEST_SITE,
  extra: { transportGraceMs?: number; confirmMs?: number; releaseWaitMs?: number } = {},
): { guard: PromptGuard; stop(): void } {
  const controller = new AbortController();
  const t = createTranslate((key, subs) => (subs?.length ? `${key}: ${subs.join(' | ')}` : key));
  const guard = new PromptGuard({
    win: window,
    site,
    t,
    signal: controller.signal,
    transport: { hello: bg.hello, check: bg.check },
    releaseWaitMs: 200,
    ...extra,
  });
  return { guard, stop: () => controller.abort() };
}

export function uiHost(): HTMLElement | null {
  return document.querySelector('guardlens-prompt');
}

export function uiState(): string {
  return uiHost()?.getAttribute('data-state') ?? 'idle';
}

export function panel(): HTMLElement | null {
  return uiHost()?.shadowRoot?.querySelector('.panel') ?? null;
}

export function panelButton(action: string): HTMLButtonElement | null {
  return uiHost()?.shadowRoot?.querySelector(`button[data-action="${action}"]`) ?? null;
}
