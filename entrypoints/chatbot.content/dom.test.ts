// @vitest-environment happy-dom
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { getChatbotSite } from '@/lib/chatbots/sites';
import {
  findReplies,
  findSendControl,
  hasAttachments,
  isComposer,
  isStreaming,
  readComposer,
  sendClickTarget,
  siteComposers,
  stopShowing,
  userTurnBefore,
} from './dom';
import { ReplyWatcher } from './replies';
import { giveElementsBoxes } from './test-page';

const chatgpt = getChatbotSite('chatgpt')!;
const gemini = getChatbotSite('gemini')!;
const deepseek = getChatbotSite('deepseek')!;
const kimi = getChatbotSite('kimi')!;
const claude = getChatbotSite('claude')!;

beforeEach(() => {
  giveElementsBoxes();
  document.body.innerHTML = '';
});

describe('composers', () => {
  it('finds the live composer and ignores hidden, stale and server-rendered copies', () => {
    document.body.innerHTML = `
      <div data-app-shell-active-page="false"><div id="prompt-textarea" contenteditable="true" class="ProseMirror"><p>old</p></div></div>
      <div aria-hidden="true"><form data-type="unified-composer"><div contenteditable="true" role="textbox"></div></form></div>
      <form data-type="unified-composer">
        <textarea name="prompt-textarea" style="display:none"></textarea>
        <div id="prompt-textarea" contenteditable="true" class="ProseMirror"><p>now</p></div>
      </form>`;
    const found = siteComposers(document, chatgpt);
    expect(found).toHaveLength(1);
    expect(readComposer(found[0]!)).toBe('now');
  });

  it("does not take Quill's clipboard for a composer", () => {
    document.body.innerHTML = `
      <input-container><rich-textarea>
        <div class="ql-editor" contenteditable="true" role="textbox"><p>hi</p></div>
        <div class="ql-clipboard" contenteditable="true" tabindex="-1" data-test-box="none"></div>
      </rich-textarea><button class="send-button" aria-label="Send message">Send</button></input-container>`;
    const found = siteComposers(document, gemini);
    expect(found.map((e) => e.className)).toEqual(['ql-editor']);
    expect(findSendControl(found[0]!, gemini)?.className).toBe('send-button');
  });

  it('on a named site, an editable that is not its composer (an edit box) is not a composer', () => {
    document.body.innerHTML = `
      <div class="turn"><textarea id="edit"></textarea><button>Send</button></div>
      <form data-type="unified-composer"><div id="prompt-textarea" contenteditable="true"><p></p></div>
        <button data-testid="send-button">Send</button></form>`;
    expect(isComposer(document.getElementById('edit')!, chatgpt, document)).toBe(false);
    expect(isComposer(document.getElementById('prompt-textarea')!, chatgpt, document)).toBe(true);
  });

  it('falls back to generic detection when the site changed its markup', () => {
    document.body.innerHTML = `<form><textarea id="renamed"></textarea><button type="submit">Go</button></form>`;
    expect(siteComposers(document, chatgpt)).toEqual([]);
    expect(isComposer(document.getElementById('renamed')!, chatgpt, document)).toBe(true);
  });
});

describe('send controls', () => {
  it('never counts a stop control as a send', () => {
    document.body.innerHTML = `<form data-type="unified-composer"><div id="prompt-textarea" contenteditable="true"><p>x</p></div>
      <button id="composer-submit-button" data-testid="stop-button" aria-label="Stop streaming">■</button></form>`;
    const stop = document.getElementById('composer-submit-button')!;
    expect(sendClickTarget(stop, chatgpt, document)).toBeNull();
    stop.setAttribute('data-testid', 'send-button');
    stop.setAttribute('aria-label', 'Send prompt');
    expect(sendClickTarget(stop, chatgpt, document)?.composer?.id).toBe('prompt-textarea');
  });

  it("picks DeepSeek's send (the last icon button), not its toggles or upload", () => {
    document.body.innerHTML = `<div class="composer"><textarea id="chat-input"></textarea>
      <div role="button" class="toggle">DeepThink</div>
      <div role="button" class="upload" aria-disabled="false">📎</div>
      <div role="button" class="send" aria-disabled="false">⬆</div></div>`;
    const composer = document.getElementById('chat-input')!;
    expect(findSendControl(composer, deepseek)?.className).toBe('send');
    expect(sendClickTarget(document.querySelector('.upload')!, deepseek, document)).toBeNull();
    expect(sendClickTarget(document.querySelector('.toggle')!, deepseek, document)).toBeNull();
    expect(sendClickTarget(document.querySelector('.send')!, deepseek, document)?.composer).toBe(composer);
  });

  it("finds Kimi's send inside its container, and sees it disabled with the container", () => {
    document.body.innerHTML = `<div class="chat-input">
      <div class="chat-input-editor" contenteditable="true" data-lexical-editor="true"><p>x</p></div>
      <div class="send-button-container disabled"><div class="send-button">➤</div></div></div>`;
    const composer = document.querySelector('.chat-input-editor') as HTMLElement;
    expect(findSendControl(composer, kimi)?.className).toBe('send-button');
    expect(findSendControl(composer, kimi, true)).toBeNull();
    document.querySelector('.send-button-container')!.classList.remove('disabled');
    expect(findSendControl(composer, kimi, true)?.className).toBe('send-button');
  });
});

describe('attachments', () => {
  it('sees file tiles and chosen files in the composer form only', () => {
    document.body.innerHTML = `<div class="thread"><div data-testid="file-tile">old.pdf</div></div>
      <form data-type="unified-composer"><input type="file"><div id="prompt-textarea" contenteditable="true"><p>x</p></div>
      <button data-testid="send-button">Send</button></form>`;
    const composer = document.getElementById('prompt-textarea')!;
    expect(hasAttachments(composer, chatgpt)).toBe(false);
    const tile = document.createElement('div');
    tile.setAttribute('data-testid', 'file-tile');
    document.querySelector('form')!.prepend(tile);
    expect(hasAttachments(composer, chatgpt)).toBe(true);
  });
});

describe('replies', () => {
  it('reads replies from the site markup, outermost match, with the user turn before each', () => {
    document.body.innerHTML = `
      <div data-testid="user-message">first question</div>
      <div data-is-streaming="false"><div class="font-claude-response"><div class="standard-markdown"><p>first answer</p></div></div></div>
      <div data-testid="user-message">second question</div>
      <div data-is-streaming="true"><div class="font-claude-response"><div class="standard-markdown"><p>second</p></div></div></div>`;
    const replies = findReplies(document, claude);
    expect(replies.map((r) => r.textContent)).toEqual(['first answer', 'second']);
    expect(userTurnBefore(replies[0]!, claude, document)).toBe('first question');
    expect(userTurnBefore(replies[1]!, claude, document)).toBe('second question');
    expect(isStreaming(replies[0]!, claude, stopShowing(claude, document))).toBe(false);
    expect(isStreaming(replies[1]!, claude, false)).toBe(true);
    expect(isStreaming(replies[0]!, claude, true)).toBe(true);
    document.body.insertAdjacentHTML('beforeend', '<button aria-label="Stop response">Stop</button>');
    expect(stopShowing(claude, document)).toBe(true);
  });

  it('checks a reply again when the page moved on during its check (an SPA route change)', async () => {
    document.body.innerHTML = `<div data-is-streaming="false"><div class="font-claude-response"><div class="standard-markdown"><p>done</p></div></div></div>`;
    let calls = 0;
    const watcher = new ReplyWatcher({
      doc: document,
      site: claude,
      lastPrompt: () => 'the prompt',
      stableMs: 20,
      throttleMs: 5,
      transport: {
        reply: async () =>
          ++calls === 1
            ? { status: 'error', kind: 'dropped', message: 'The tab navigated.' }
            : { status: 'safe' },
      },
    });
    watcher.start();
    try {
      await vi.waitFor(() => expect(calls).toBe(2));
    } finally {
      watcher.stop();
    }
  });

  it('checks a reply once it finished, marks it when flagged, unmarks it when rewritten safe', async () => {
    document.body.innerHTML = `<div data-testid="user-message">a question</div>
      <div data-is-streaming="true"><div class="font-claude-response"><div class="standard-markdown"><p id="r">Part</p></div></div></div>`;
    const calls: Array<{ text: string; prompt: string }> = [];
    let unsafe = true;
    const watcher = new ReplyWatcher({
      doc: document,
      site: claude,
      lastPrompt: () => 'fallback prompt',
      stableMs: 30,
      throttleMs: 5,
      transport: {
        reply: async (data) => {
          calls.push({ text: data.text, prompt: data.prompt });
          return unsafe
            ? {
                status: 'unsafe',
                verdict: { ref: data.ref, categories: ['S2'], names: ['Non-Violent Crimes'], action: 'blur' },
              }
            : { status: 'safe' };
        },
      },
    });
    watcher.start();
    try {
      const p = document.getElementById('r')!;
      p.textContent = 'Partial answer GLTEST-S2';
      await new Promise((r) => setTimeout(r, 80));
      expect(calls).toEqual([]); // still streaming
      document.querySelector('[data-is-streaming]')!.setAttribute('data-is-streaming', 'false');
      const reply = document.querySelector('.standard-markdown')!;
      await vi.waitFor(() => expect(reply.getAttribute('data-guardlens')).toBe('flagged'));
      expect(calls).toEqual([{ text: 'Partial answer GLTEST-S2', prompt: 'a question' }]);
      expect(reply.getAttribute('data-guardlens-categories')).toBe('S2');
      unsafe = false;
      p.textContent = 'A rewritten answer';
      await vi.waitFor(() => expect(reply.getAttribute('data-guardlens')).toBeNull());
      expect(calls).toHaveLength(2);
    } finally {
      watcher.stop();
    }
  });
});
