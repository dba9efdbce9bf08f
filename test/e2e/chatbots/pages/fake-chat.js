/*
 * The send behaviour of a chatbot page, for the prompt guard's fixture pages. Each page holds its site's composer
 * markup and sets `window.fakeChat` before loading this script:
 *
 *   editor    'textarea' | 'prosemirror' | 'quill' | 'lexical'
 *   composer  selector of the editor
 *   send      selector of the send control (absent, disabled or aria-disabled while the composer is empty)
 *   sendMode  'disabled' | 'aria' | 'container-class' (class `disabled` on `sendContainer`) | 'absent' (inserted
 *             from `sendHtml` into `sendSlot` when there is text; `voice` is shown instead while empty)
 *   form      selector of a form whose submit sends (else the control's click sends)
 *   stop      { morph: { attr: value } } turns the send control into a stop control while a reply streams,
 *             or { html, into } adds a separate stop control
 *   keyCode   the site also wants keyCode 13 on Enter (DeepSeek)
 *   modEnter  'send' (default) or 'newline' (Kimi)
 *   bootMs    the app starts this long after the load event (a heavy page), rebuilding the composer (gone for 100 ms);
 *             bootBusyMs: its start-up's long task
 *   thread    selector where turns are appended; user(text) / reply() build the turn markup; reply() returns
 *             { turn, body } where body receives the streamed text; streaming: { attr: [on, off] } on body
 *
 * What the page sent is recorded in `window.__sent` ({ text, via, trusted, at }); `window.__keys` records Enter
 * keydowns the page saw; `window.__compositionEndAt` when the last IME composition ended; `window.__busy` whether
 * a reply is streaming. A prompt containing "REPLY-TRIGGER" gets a reply with a Llama Guard test trigger.
 */
(() => {
  const cfg = window.fakeChat;
  window.__sent = [];
  window.__keys = [];
  window.__compositionEndAt = -1;
  window.__busy = false;
  document.addEventListener('compositionend', () => {
    window.__compositionEndAt = performance.now();
  });
  const editor = () => document.querySelector(cfg.composer);
  const isTextarea = cfg.editor === 'textarea';

  function emptyMarkup() {
    if (cfg.editor === 'prosemirror')
      return '<p data-placeholder="Ask anything" class="placeholder"><br class="ProseMirror-trailingBreak"></p>';
    return '<p><br></p>';
  }

  /** The text as the site serializes it: one line per paragraph. */
  function readText() {
    const el = editor();
    if (isTextarea) return el.value;
    const blocks = el.querySelectorAll(':scope > p, :scope > div');
    if (blocks.length === 0) return el.textContent;
    return [...blocks].map((p) => p.textContent.replace(/\u200b/g, '')).join('\n');
  }

  function clear() {
    const el = editor();
    if (isTextarea) el.value = '';
    else el.innerHTML = emptyMarkup();
    update();
  }

  function sendControl() {
    return document.querySelector(cfg.send);
  }

  function update() {
    const empty = readText().trim() === '';
    const el = editor();
    if (cfg.editor === 'quill') el.classList.toggle('ql-blank', empty);
    if (cfg.sendMode === 'absent') {
      const present = sendControl();
      if (empty && present && !streaming) present.remove();
      if (!empty && !present) {
        const slot = document.querySelector(cfg.sendSlot);
        slot.insertAdjacentHTML('beforeend', cfg.sendHtml);
        wireControl();
      }
      if (cfg.voice) {
        const voice = document.querySelector(cfg.voice);
        if (voice) voice.hidden = !empty;
      }
      return;
    }
    const control = sendControl();
    if (!control) return;
    if (cfg.sendMode === 'aria') control.setAttribute('aria-disabled', String(empty));
    else if (cfg.sendMode === 'container-class')
      document.querySelector(cfg.sendContainer).classList.toggle('disabled', empty);
    else control.disabled = empty;
  }

  let streaming = false;
  let stopEl = null;
  const saved = {};

  function startStop() {
    streaming = true;
    window.__busy = true;
    if (cfg.stop?.morph) {
      const c = sendControl();
      if (!c) return;
      for (const [k, v] of Object.entries(cfg.stop.morph)) {
        saved[k] = c.getAttribute(k);
        c.setAttribute(k, v);
      }
      stopEl = c;
    } else if (cfg.stop?.html) {
      document.querySelector(cfg.stop.into).insertAdjacentHTML('beforeend', cfg.stop.html);
      stopEl = document.querySelector(cfg.stop.into).lastElementChild;
    }
  }

  function endStop() {
    streaming = false;
    window.__busy = false;
    if (cfg.stop?.morph && stopEl) {
      for (const [k, v] of Object.entries(saved)) {
        if (v === null) stopEl.removeAttribute(k);
        else stopEl.setAttribute(k, v);
      }
    } else stopEl?.remove();
    stopEl = null;
    update();
  }

  function streamReply(prompt) {
    if (!cfg.thread) return;
    const thread = document.querySelector(cfg.thread);
    thread.insertAdjacentHTML(
      'beforeend',
      cfg.user(prompt.replace(/[<&]/g, (c) => (c === '<' ? '&lt;' : '&amp;'))),
    );
    const { turn, body } = cfg.reply();
    thread.append(turn);
    const words = ['Here', 'is', 'a', 'short', 'answer', 'about', 'the', 'widgets.'];
    if (prompt.includes('REPLY-TRIGGER')) words.push('GLTEST-S2', 'appears', 'here.');
    const marker = cfg.streaming;
    if (marker) body.setAttribute(marker.attr, marker.on);
    startStop();
    let i = 0;
    const timer = setInterval(() => {
      if (i < words.length) {
        body.textContent = `${body.textContent}${i ? ' ' : ''}${words[i++]}`;
        return;
      }
      clearInterval(timer);
      if (marker) body.setAttribute(marker.attr, marker.off);
      endStop();
    }, 40);
  }

  function send(via, trusted) {
    if (streaming) return;
    const text = readText();
    if (text.trim() === '') return;
    window.__sent.push({ text, via, trusted, at: performance.now() });
    clear();
    streamReply(text);
  }

  /** Splits the paragraph at the caret (Shift+Enter in a paragraph editor). */
  function newParagraph() {
    const sel = getSelection();
    if (!sel.rangeCount) return;
    const range = sel.getRangeAt(0);
    range.deleteContents();
    let p = range.startContainer;
    while (p && p.parentNode !== editor()) p = p.parentNode;
    if (!p) return;
    const tail = document.createRange();
    tail.setStart(range.startContainer, range.startOffset);
    tail.setEndAfter(p.lastChild ?? p);
    const rest = tail.extractContents();
    const next = document.createElement('p');
    next.append(...(rest.firstChild?.nodeName === 'P' ? rest.firstChild.childNodes : rest.childNodes));
    if (!next.textContent) next.innerHTML = '<br>';
    if (!p.textContent) p.innerHTML = '<br>';
    p.after(next);
    const caret = document.createRange();
    caret.setStart(next, 0);
    caret.collapse(true);
    sel.removeAllRanges();
    sel.addRange(caret);
  }

  function onKeydown(e) {
    if (e.key !== 'Enter') return;
    window.__keys.push({
      trusted: e.isTrusted,
      composing: e.isComposing,
      keyCode: e.keyCode,
      shift: e.shiftKey,
    });
    if (e.isComposing || e.keyCode === 229) return;
    if (e.shiftKey || ((e.ctrlKey || e.metaKey) && cfg.modEnter === 'newline')) {
      if (!isTextarea) {
        e.preventDefault();
        newParagraph();
        update();
      }
      return; // a textarea adds the newline itself
    }
    if (cfg.keyCode && e.keyCode !== 13) return;
    e.preventDefault();
    if (cfg.form) {
      document.querySelector(cfg.form).requestSubmit();
      return;
    }
    send('enter', e.isTrusted);
  }

  function wireControl() {
    const control = sendControl();
    if (!control || control.dataset.wired) return;
    control.dataset.wired = '1';
    control.addEventListener('click', (e) => {
      if (control.getAttribute('aria-disabled') === 'true' || control.disabled) return;
      if (control.parentElement?.classList.contains('disabled')) return;
      if (streaming) return;
      if (cfg.form) return; // the form's submit sends
      send('click', e.isTrusted);
    });
  }

  function init() {
    const el = editor();
    el.addEventListener('keydown', onKeydown);
    el.addEventListener('input', update);
    if (cfg.form) {
      document.querySelector(cfg.form).addEventListener('submit', (e) => {
        e.preventDefault();
        send('submit', e.isTrusted);
      });
    }
    if (!isTextarea && !el.innerHTML.trim()) el.innerHTML = emptyMarkup();
    wireControl();
    update();
  }

  /**
   * A heavy app that starts late (`bootMs` after the load event, busy for `bootBusyMs` on the main thread): until
   * then its composer is the server-rendered copy, which takes typing but sends nothing (no handler, no send
   * control); at start-up the app puts its own composer in its place, with the text typed so far, and wires it.
   */
  function boot() {
    const busyUntil = performance.now() + (cfg.bootBusyMs ?? 0);
    while (performance.now() < busyUntil) {
      // the app's start-up work
    }
    // The server-rendered composer goes, and the app's own comes a moment later, with the text typed so far.
    const old = editor();
    const parent = old.parentNode;
    const next = old.nextSibling;
    const live = old.cloneNode(false);
    live.innerHTML = old.innerHTML;
    old.remove();
    setTimeout(() => {
      parent.insertBefore(live, next);
      init();
      window.__bootedAt = performance.now();
    }, 100);
  }

  if (cfg.bootMs) {
    window.__bootedAt = null;
    const later = () => setTimeout(boot, cfg.bootMs);
    if (document.readyState === 'complete') later();
    else window.addEventListener('load', later, { once: true });
  } else if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
