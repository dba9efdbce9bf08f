// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PromptConfig } from '@/lib/chatbots/config';
import { GENERIC_SITE } from '@/lib/chatbots/sites';
import {
  fakeBackground,
  giveElementsBoxes,
  makePage,
  panel,
  panelButton,
  startGuard,
  TEST_SITE,
  uiHost,
  uiState,
} from './test-page';

const until = (cond: () => unknown, message = 'condition') =>
  vi.waitFor(() => expect(cond(), message).toBeTruthy());
/** Lets queued promise callbacks and zero-delay timers run. */
const settle = () => new Promise((r) => setTimeout(r, 20));

let stops: Array<() => void> = [];
function guardFor(...args: Parameters<typeof startGuard>) {
  const g = startGuard(...args);
  stops.push(g.stop);
  return g;
}

beforeEach(() => {
  giveElementsBoxes();
});
afterEach(() => {
  for (const stop of stops) stop();
  stops = [];
  document.body.innerHTML = '';
});

describe('prompt guard: sends', () => {
  it('holds Enter until the verdict, then releases it once with the text unchanged', async () => {
    const page = makePage();
    let answer!: () => void;
    const bg = fakeBackground({}, () => new Promise((r) => (answer = () => r({ status: 'safe' }))));
    guardFor(bg);
    page.setText('hello\u200B there\nsecond line');
    const press = page.pressEnter();
    expect(press.defaultPrevented).toBe(true);
    expect(page.keys).toHaveLength(0); // the site did not see it
    await until(() => bg.checked.length === 1);
    expect(bg.checked).toEqual(['hello there\nsecond line']);
    expect(uiState()).toBe('checking');
    expect(page.sent).toEqual([]);
    answer();
    await until(() => page.sent.length === 1);
    expect(page.sent).toEqual(['hello\u200B there\nsecond line']);
    await settle();
    expect(page.sent).toHaveLength(1);
    expect(bg.check).toHaveBeenCalledTimes(1);
    expect(uiState()).toBe('idle');
  });

  it('lets Shift+Enter, an empty composer and IME composition through untouched', async () => {
    const page = makePage();
    const bg = fakeBackground();
    guardFor(bg);
    page.setText('typing');
    page.pressEnter({ shiftKey: true });
    page.pressEnter({ isComposing: true });
    page.pressEnter({ keyCode: 229 });
    page.setText('');
    page.pressEnter();
    // The site saw every one of them (the guard stopped none).
    expect(page.keys).toHaveLength(4);
    expect(page.sent).toEqual([]);
    await settle();
    expect(bg.check).not.toHaveBeenCalled();
  });

  it('swallows the Enter that follows compositionend without checking it', async () => {
    const page = makePage();
    const bg = fakeBackground();
    guardFor(bg);
    page.setText('にほんご');
    page.composer.dispatchEvent(new CompositionEvent('compositionend', { bubbles: true, data: 'にほんご' }));
    expect(page.pressEnter().defaultPrevented).toBe(true);
    expect(page.keys).toHaveLength(0);
    await settle();
    expect(bg.check).not.toHaveBeenCalled();
    // A later Enter is a send.
    await new Promise((r) => setTimeout(r, 60));
    page.pressEnter();
    await until(() => page.sent.length === 1);
  });

  it('never intercepts its own replay, even when the site turns Enter into a click', async () => {
    const page = makePage({ ignoreSynthetic: false });
    // This site sends by clicking its own button from the Enter handler.
    page.composer.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.defaultPrevented) page.send.click();
    });
    const bg = fakeBackground();
    guardFor(bg);
    page.setText('one send only');
    page.pressEnter();
    await until(() => page.sent.length === 1);
    await settle();
    expect(page.sent).toEqual(['one send only']);
    expect(bg.check).toHaveBeenCalledTimes(1);
  });

  it("lets the site's own follow-up of a released send pass once (an asynchronous submit)", async () => {
    const page = makePage();
    const form = document.getElementById('form') as HTMLFormElement;
    const submitted: string[] = [];
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      submitted.push('submit');
    });
    // The site answers Enter later, with a submit of its form.
    page.composer.addEventListener(
      'keydown',
      (e) => {
        if (e.key === 'Enter' && !e.shiftKey) {
          e.preventDefault();
          e.stopImmediatePropagation();
          setTimeout(() => form.requestSubmit(), 0);
        }
      },
      { capture: true },
    );
    const bg = fakeBackground();
    guardFor(bg);
    page.setText('async site');
    page.pressEnter();
    await until(() => submitted.length === 1);
    await settle();
    expect(submitted).toEqual(['submit']);
    expect(bg.check).toHaveBeenCalledTimes(1);
  });

  it('uses the send control when the site ignores a synthetic Enter', async () => {
    const page = makePage({ ignoreSynthetic: true });
    const bg = fakeBackground();
    guardFor(bg);
    page.setText('needs the button');
    page.pressEnter();
    await until(() => page.sent.length === 1);
    expect(page.sent).toEqual(['needs the button']);
  });

  it('never sends twice when the site takes the replayed Enter without saying so', async () => {
    document.body.innerHTML = `<form><div id="composer" contenteditable="true"><p>just once</p></div>
      <button id="send" type="button">Send</button></form>`;
    const composer = document.getElementById('composer')!;
    const sentBy: string[] = [];
    const send = (via: string) => {
      if (!composer.textContent) return;
      sentBy.push(via);
      composer.innerHTML = '<p><br></p>';
    };
    // This site sends on Enter without calling preventDefault; its button would send again.
    composer.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') send('enter');
    });
    // (A button that sends whatever state the composer is in shows a second send at once.)
    document.getElementById('send')!.addEventListener('click', () => sentBy.push('button'));
    guardFor(fakeBackground());
    composer.dispatchEvent(
      new KeyboardEvent('keydown', { key: 'Enter', keyCode: 13, bubbles: true, cancelable: true }),
    );
    await until(() => sentBy.length === 1);
    await new Promise((r) => setTimeout(r, 150));
    expect(sentBy).toEqual(['enter']);
  });

  it('tells the person when the site did not take the released send', async () => {
    const page = makePage({ ignoreSynthetic: true });
    // This site also ignores synthetic clicks: nothing the guard replays reaches it.
    const button = page.send.cloneNode(true) as HTMLButtonElement;
    page.send.replaceWith(button);
    button.addEventListener('click', (e) => {
      if (e.isTrusted) page.sent.push('by a person');
    });
    guardFor(fakeBackground(), undefined, { confirmMs: 50 });
    page.setText('ignored by the site');
    page.pressEnter();
    await until(() => uiHost()?.getAttribute('data-notice') === 'release-failed');
    expect(page.sent).toEqual([]);
    expect(page.composer.textContent).toBe('ignored by the site');
  });

  it('catches Cmd/Ctrl+Enter too, and replays it with its modifier; leaves it alone where it is a newline', async () => {
    const page = makePage();
    const bg = fakeBackground();
    const { stop } = guardFor(bg);
    page.setText('sent with ctrl');
    expect(page.pressEnter({ ctrlKey: true }).defaultPrevented).toBe(true);
    await until(() => page.sent.length === 1);
    expect(page.keys.at(-1)?.ctrlKey).toBe(true);
    stop();
    const kimiLike = { ...TEST_SITE, keys: { enter: 'send' as const, modEnter: 'newline' as const } };
    const page2 = makePage();
    const bg2 = fakeBackground();
    guardFor(bg2, kimiLike);
    page2.setText('a newline here');
    page2.pressEnter({ ctrlKey: true });
    expect(page2.keys).toHaveLength(1); // the site saw it
    await settle();
    expect(bg2.check).not.toHaveBeenCalled();
  });

  it('catches a form submit that carries the prompt, and submits once when it is safe', async () => {
    document.body.innerHTML = `<form id="f"><textarea id="composer"></textarea><button id="send" type="submit">Send</button></form>`;
    const form = document.getElementById('f') as HTMLFormElement;
    const submits: string[] = [];
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      submits.push((document.getElementById('composer') as HTMLTextAreaElement).value);
    });
    const bg = fakeBackground();
    guardFor(bg);
    (document.getElementById('composer') as HTMLTextAreaElement).value = 'submitted text';
    form.requestSubmit();
    expect(submits).toEqual([]);
    await until(() => submits.length === 1);
    await settle();
    expect(submits).toEqual(['submitted text']);
    expect(bg.checked).toEqual(['submitted text']);
  });

  it('intercepts a click on the send control and replays the click', async () => {
    const page = makePage();
    const bg = fakeBackground();
    guardFor(bg);
    page.setText('by the button');
    page.send.click();
    expect(page.sent).toEqual([]);
    await until(() => page.sent.length === 1);
    expect(bg.checked).toEqual(['by the button']);
  });

  it("still intercepts the send control when the page plants Guardlens' own-UI attribute around it", async () => {
    const page = makePage();
    page.send.setAttribute('data-guardlens-ui', '');
    page.send.parentElement?.setAttribute('data-guardlens-ui', '');
    const bg = fakeBackground();
    guardFor(bg);
    page.setText('planted mark');
    page.send.click();
    expect(page.sent).toEqual([]);
    await until(() => page.sent.length === 1);
    expect(bg.checked).toEqual(['planted mark']);
  });

  it('checks the new text when the person kept typing during the check', async () => {
    const page = makePage();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const bg = fakeBackground({}, async (text) => {
      if (text === 'first') await gate;
      return { status: 'safe' };
    });
    guardFor(bg);
    page.setText('first');
    page.pressEnter();
    await until(() => bg.checked.length === 1);
    page.setText('first, then more');
    release();
    await until(() => page.sent.length === 1);
    expect(bg.checked).toEqual(['first', 'first, then more']);
    expect(page.sent).toEqual(['first, then more']);
  });

  it('sends on the re-rendered composer when the site replaced it during the check', async () => {
    const page = makePage();
    let release!: () => void;
    const bg = fakeBackground({}, () => new Promise((r) => (release = () => r({ status: 'safe' }))));
    guardFor(bg);
    page.setText('survives a re-render');
    page.pressEnter();
    await until(() => bg.checked.length === 1);
    // The app re-renders its composer: a new element with the same content and the same handler.
    const fresh = page.composer.cloneNode(true) as HTMLElement;
    const sentByFresh: string[] = [];
    fresh.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        sentByFresh.push(fresh.textContent ?? '');
      }
    });
    page.composer.replaceWith(fresh);
    // The page scrolls meanwhile: the indicator follows the composer there is now instead of giving up.
    window.dispatchEvent(new Event('scroll'));
    await new Promise((r) => setTimeout(r, 50));
    expect(uiState()).toBe('checking');
    release();
    await until(() => sentByFresh.length === 1);
    expect(sentByFresh).toEqual(['survives a re-render']);
    expect(page.sent).toEqual([]);
  });

  it('does nothing where the background says the guard is off', async () => {
    for (const config of [{ active: false }, { mode: 'off' as const }]) {
      const page = makePage();
      const bg = fakeBackground(config);
      const { stop } = guardFor(bg);
      await settle();
      page.setText('GLTEST-S1 but unguarded');
      expect(page.pressEnter().defaultPrevented).toBe(true); // the site's own handler
      expect(page.keys).toHaveLength(1);
      expect(page.sent).toEqual(['GLTEST-S1 but unguarded']);
      expect(bg.check).not.toHaveBeenCalled();
      stop();
    }
  });

  it('an older answer never overrides a newer config', async () => {
    const page = makePage();
    const bg = fakeBackground();
    let slow!: (c: PromptConfig) => void;
    bg.hello.mockImplementationOnce(() => new Promise((r) => (slow = r)));
    const { guard } = guardFor(bg);
    bg.config = { ...bg.config, active: false };
    await guard.refreshConfig(); // newer: off
    slow({ ...bg.config, active: true }); // the first hello answers last
    await settle();
    page.setText('still off');
    page.pressEnter();
    expect(page.sent).toEqual(['still off']);
  });

  it('is removed with the content script', async () => {
    const page = makePage();
    const bg = fakeBackground({}, () => ({
      status: 'unsafe',
      categories: ['S1'],
      names: ['Violent Crimes'],
    }));
    const { stop } = guardFor(bg);
    page.setText('GLTEST-S1');
    page.pressEnter();
    await until(() => uiState() === 'blocked');
    stop();
    expect(uiHost()).toBeNull();
    page.pressEnter();
    expect(page.sent).toEqual(['GLTEST-S1']);
  });
});

describe('prompt guard: verdicts', () => {
  const unsafe = () => ({
    status: 'unsafe' as const,
    categories: ['S1', 'S10'],
    names: ['Violent Crimes', 'Hate'],
  });

  it('block mode: holds the prompt, names the categories, keeps the text; page scripts cannot press Send anyway', async () => {
    const page = makePage();
    const bg = fakeBackground({}, unsafe);
    guardFor(bg);
    page.setText('GLTEST-S1 plan');
    page.pressEnter();
    await until(() => uiState() === 'blocked');
    expect(page.sent).toEqual([]);
    expect(page.composer.textContent).toBe('GLTEST-S1 plan');
    expect(panel()?.textContent).toContain('S1 Violent Crimes, S10 Hate');
    expect(panelButton('edit')).not.toBeNull();
    panelButton('send-anyway')?.click(); // a script's click, not a person's
    await settle();
    expect(page.sent).toEqual([]);
    // Editing the prompt closes the panel: the verdict no longer applies.
    page.composer.dispatchEvent(new InputEvent('input', { bubbles: true }));
    expect(uiState()).toBe('idle');
  });

  it('offers no Send anyway when the policy forbids it, and says so', async () => {
    const page = makePage();
    guardFor(fakeBackground({ sendAnyway: false }, unsafe));
    page.setText('GLTEST-S1');
    page.pressEnter();
    await until(() => uiState() === 'blocked');
    expect(panelButton('send-anyway')).toBeNull();
    expect(panel()?.textContent).toContain('prompt_send_anyway_forbidden');
  });

  it('warn mode: the panel shows and the person decides', async () => {
    const page = makePage();
    guardFor(fakeBackground({ mode: 'warn', sendAnyway: false }, unsafe));
    page.setText('GLTEST-S1');
    page.pressEnter();
    await until(() => uiState() === 'warn');
    expect(page.sent).toEqual([]);
    expect(panelButton('send-anyway')).not.toBeNull();
  });

  it('names attachments the check did not see', async () => {
    const page = makePage();
    const tile = document.createElement('div');
    tile.setAttribute('data-testid', 'file-tile');
    document.getElementById('form')!.prepend(tile);
    guardFor(fakeBackground({}, unsafe));
    page.setText('GLTEST-S1 with a file');
    page.pressEnter();
    await until(() => uiState() === 'blocked');
    expect(panel()?.textContent).toContain('prompt_attachments_unchecked');
  });

  it('a safe prompt with attachments is sent with a note', async () => {
    const page = makePage();
    const tile = document.createElement('div');
    tile.setAttribute('data-testid', 'file-tile');
    document.getElementById('form')!.prepend(tile);
    guardFor(fakeBackground());
    page.setText('fine text, unknown file');
    page.pressEnter();
    await until(() => page.sent.length === 1);
    await until(() => uiHost()?.getAttribute('data-notice') === 'attachments');
  });
});

describe('prompt guard: failures', () => {
  const down = () => ({
    status: 'error' as const,
    kind: 'unreachable',
    message: 'Could not reach the endpoint.',
  });

  it('fail open: sends once and says it went unchecked, and why', async () => {
    const page = makePage();
    guardFor(fakeBackground({ failMode: 'open' }, down));
    page.setText('while down');
    page.pressEnter();
    await until(() => page.sent.length === 1);
    await until(() => uiHost()?.getAttribute('data-notice') === 'unchecked');
    expect(uiHost()?.shadowRoot?.textContent).toContain('Could not reach the endpoint.');
  });

  it('shows why the check failed from the messages file when the background names the text', async () => {
    const page = makePage();
    guardFor(
      fakeBackground({ failMode: 'closed' }, () => ({
        ...down(),
        text: { key: 'error_detail_status', subs: ['Groq', '503', 'overloaded'] },
      })),
    );
    page.setText('while down');
    page.pressEnter();
    await until(() => uiState() === 'failed');
    // The test page's messages file answers "key: values".
    expect(panel()?.textContent).toContain('error_detail_status: Groq | 503 | overloaded');
    expect(panel()?.textContent).not.toContain('Could not reach the endpoint.');
  });

  it('fail closed: holds with a Retry button', async () => {
    const page = makePage();
    guardFor(fakeBackground({ failMode: 'closed' }, down));
    page.setText('while down');
    page.pressEnter();
    await until(() => uiState() === 'failed');
    expect(page.sent).toEqual([]);
    expect(panelButton('retry')).not.toBeNull();
    expect(panel()?.textContent).toContain('Could not reach the endpoint.');
  });

  it('a background that does not answer in time counts as a failure, per the fail mode', async () => {
    for (const failMode of ['open', 'closed'] as const) {
      const page = makePage();
      const { stop } = guardFor(
        fakeBackground({ failMode, timeoutMs: 10 }, () => new Promise(() => {})),
        undefined,
        { transportGraceMs: 10 },
      );
      page.setText(`slow ${failMode}`);
      page.pressEnter();
      if (failMode === 'open') {
        await until(() => page.sent.length === 1);
        await until(() => uiHost()?.getAttribute('data-notice') === 'unchecked');
        expect(uiHost()?.shadowRoot?.textContent).toContain('prompt_timeout');
      } else {
        await until(() => uiState() === 'failed');
        expect(page.sent).toEqual([]);
      }
      stop();
    }
  });

  it('a send whose text cannot be read is never let through silently', async () => {
    for (const failMode of ['open', 'closed'] as const) {
      const page = makePage();
      // The site thinks there is something to send (its button is enabled), but the composer reads empty.
      page.setText('');
      const clicks: number[] = [];
      page.send.addEventListener('click', () => clicks.push(1));
      const bg = fakeBackground({ failMode });
      const { stop } = guardFor(bg);
      await settle();
      page.send.click();
      if (failMode === 'closed') {
        await until(() => uiState() === 'failed');
        expect(panel()?.textContent).toContain('prompt_unreadable');
        expect(clicks).toEqual([]);
      } else {
        await until(() => uiHost()?.getAttribute('data-notice') === 'unchecked');
        expect(uiHost()?.shadowRoot?.textContent).toContain('prompt_unreadable');
        expect(clicks).toEqual([1]);
      }
      expect(bg.check).not.toHaveBeenCalled();
      stop();
    }
  });

  it('asks once more when the tab "navigated" during the check (an SPA route change)', async () => {
    const page = makePage();
    let first = true;
    const bg = fakeBackground({}, () => {
      if (first) {
        first = false;
        return { status: 'error', kind: 'dropped', message: 'The tab navigated.' };
      }
      return { status: 'safe' };
    });
    guardFor(bg);
    page.setText('across a route change');
    page.pressEnter();
    await until(() => page.sent.length === 1);
    expect(bg.check).toHaveBeenCalledTimes(2);
  });
});

describe('prompt guard: generic detection', () => {
  it('on a site that turns out to add a newline on Enter, stops checking Enter in that composer', async () => {
    document.body.innerHTML = '<form><textarea id="c"></textarea><button type="submit">Send</button></form>';
    const form = document.querySelector('form')!;
    form.addEventListener('submit', (e) => e.preventDefault());
    const c = document.getElementById('c') as HTMLTextAreaElement;
    const inserted: string[] = [];
    document.execCommand = ((_cmd: string, _ui?: boolean, value?: string) => {
      inserted.push(value ?? '\n');
      return true;
    }) as typeof document.execCommand;
    const bg = fakeBackground();
    guardFor(bg, GENERIC_SITE);
    c.value = 'a comment';
    const first = new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true });
    c.dispatchEvent(first);
    expect(first.defaultPrevented).toBe(true);
    await until(() => inserted.length === 1);
    // The next Enter is the site's (a newline), unchecked.
    const second = new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true });
    c.dispatchEvent(second);
    expect(second.defaultPrevented).toBe(false);
    expect(bg.check).toHaveBeenCalledTimes(1);
  });

  it('leaves a text box without a send control alone', async () => {
    document.body.innerHTML = '<label>Notes <textarea id="n"></textarea></label>';
    const bg = fakeBackground();
    guardFor(bg, GENERIC_SITE);
    const n = document.getElementById('n') as HTMLTextAreaElement;
    n.value = 'a note';
    const e = new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true });
    n.dispatchEvent(e);
    expect(e.defaultPrevented).toBe(false);
    await settle();
    expect(bg.check).not.toHaveBeenCalled();
  });
});

describe('prompt guard: from the first moment (heavy pages)', () => {
  /** The site rebuilds its composer (hydration, a late app start): a new element with the same text. */
  function rebuildComposer(page: ReturnType<typeof makePage>, gapMs = 0): Promise<HTMLElement> {
    const old = page.composer;
    const html = old.innerHTML;
    const form = old.parentElement!;
    old.remove();
    return new Promise((resolve) =>
      setTimeout(() => {
        const fresh = document.createElement('div');
        fresh.id = 'composer';
        fresh.contentEditable = 'true';
        fresh.innerHTML = html;
        form.prepend(fresh);
        resolve(fresh);
      }, gapMs),
    );
  }

  it('checks a send at once, without waiting for the hello to be answered', async () => {
    const page = makePage();
    const bg = fakeBackground();
    bg.hello.mockImplementation(() => new Promise(() => {})); // the handshake never answers
    guardFor(bg);
    page.setText('right after load');
    page.pressEnter();
    await settle();
    expect(bg.checked).toEqual(['right after load']);
    await until(() => page.sent.length === 1);
    expect(page.sent).toEqual(['right after load']);
  });

  it('holds a send, saying Guardlens is not ready, when the background never answered on this page', async () => {
    const page = makePage();
    const bg = fakeBackground();
    bg.hello.mockImplementation(() => Promise.reject(new Error('Could not establish connection')));
    bg.check.mockImplementation(() => Promise.reject(new Error('Could not establish connection')));
    guardFor(bg);
    page.setText('before the background');
    page.pressEnter();
    await until(() => uiState() === 'failed');
    expect(panel()?.textContent).toContain('prompt_not_ready');
    expect(panelButton('retry')).not.toBeNull();
    expect(panelButton('send-anyway')).toBeNull();
    await settle();
    expect(page.sent).toEqual([]);
  });

  it('a composer rebuilt while its check runs does not cancel it: a flagged prompt is still held', async () => {
    const page = makePage();
    let answer!: () => void;
    const flagged = { status: 'unsafe' as const, categories: ['S1'], names: ['Violent'] };
    const bg = fakeBackground({}, () => new Promise((r) => (answer = () => r(flagged))));
    guardFor(bg);
    page.setText('flagged during start-up');
    page.pressEnter();
    await until(() => uiState() === 'checking');
    // The pill looks for its anchor on scroll and resize: the site's rebuild leaves a moment with no composer.
    const rebuilt = rebuildComposer(page, 50);
    window.dispatchEvent(new Event('resize'));
    await settle();
    window.dispatchEvent(new Event('resize'));
    await rebuilt;
    answer();
    await until(() => uiState() === 'blocked');
    expect(panel()?.textContent).toContain('Violent');
    expect(page.sent).toEqual([]);
  });

  it('a held prompt stays held while the site rebuilds its composer', async () => {
    const page = makePage();
    const bg = fakeBackground({}, () => ({ status: 'unsafe', categories: ['S1'], names: ['Violent'] }));
    guardFor(bg);
    page.setText('held across the rebuild');
    page.pressEnter();
    await until(() => uiState() === 'blocked');
    const rebuilt = rebuildComposer(page, 50);
    // The page scrolls while its composer is gone: the panel stays, saying what it said.
    window.dispatchEvent(new Event('scroll'));
    await new Promise((r) => setTimeout(r, 20));
    expect(uiState()).toBe('blocked');
    expect(panel()?.textContent).toContain('Violent');
    const fresh = await rebuilt;
    window.dispatchEvent(new Event('scroll'));
    await settle();
    expect(uiState()).toBe('blocked');
    expect(fresh.isConnected).toBe(true);
    expect(page.sent).toEqual([]);
  });

  it('a safe prompt waits for a site that is still starting, and reaches it once', async () => {
    const page = makePage();
    // Until its app starts, the site's composer takes typing but nothing sends (no Enter handler, no button).
    page.send.remove();
    const stale = page.composer;
    stale.replaceWith(stale.cloneNode(true)); // the server-rendered copy: no handlers
    const bg = fakeBackground();
    guardFor(bg, undefined, { releaseWaitMs: 2000 });
    const ssr = document.getElementById('composer') as HTMLElement;
    ssr.innerHTML = '<p>sent before the app started</p>';
    ssr.dispatchEvent(
      new KeyboardEvent('keydown', {
        key: 'Enter',
        code: 'Enter',
        keyCode: 13,
        bubbles: true,
        cancelable: true,
      }),
    );
    await until(() => bg.checked.length === 1);
    await settle();
    expect(page.sent).toEqual([]);
    // The app starts: it builds its own composer (with the text) and wires Enter to send.
    const live = document.createElement('div');
    live.id = 'composer';
    live.contentEditable = 'true';
    live.innerHTML = ssr.innerHTML;
    live.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      e.preventDefault();
      page.sent.push(live.textContent ?? '');
      live.innerHTML = '<p><br></p>';
    });
    ssr.replaceWith(live);
    await until(() => page.sent.length === 1);
    await settle();
    expect(page.sent).toEqual(['sent before the app started']);
    expect(bg.check).toHaveBeenCalledTimes(1);
    expect(uiHost()?.getAttribute('data-notice') ?? null).toBeNull();
  });

  it('a text that keeps changing under the check is checked again, then held, never dropped', async () => {
    const page = makePage();
    let n = 0;
    const bg = fakeBackground({ failMode: 'open' }, async () => {
      // The composer rewrites itself while each check runs.
      page.setText(`changed ${++n}`);
      return { status: 'safe' };
    });
    guardFor(bg);
    page.setText('first');
    page.pressEnter();
    await until(
      () => uiState() === 'failed' || page.sent.length > 0 || uiHost()?.getAttribute('data-notice'),
    );
    await settle();
    expect(bg.checked).toEqual(['first', 'changed 1', 'changed 2', 'changed 3']);
    // Fail open: sent with the notice that it went unchecked, never silently gone.
    expect(uiHost()?.getAttribute('data-notice')).toBe('unchecked');
  });
});
