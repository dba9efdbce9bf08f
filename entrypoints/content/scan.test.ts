// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BlockReport, InactiveReason, PageConfig } from '@/utils/messages';
import { MAX_CHARS_PER_PAGE } from '@/utils/protocol/page';
import { LabelLayer } from './labels';
import { BATCH, MAX_SENDS_PER_BLOCK, PageSession } from './scan';

const CONFIG: PageConfig = {
  active: true,
  scanText: true,
  scanImages: false,
  hideImagesUntilChecked: false,
  onDemand: false,
  failMode: 'open',
};

let session: PageSession | null = null;
let labels: LabelLayer | null = null;

function start(html: string, answer: { inactive?: InactiveReason } = {}, lateSendMs?: number) {
  document.head.innerHTML = '<style>[hidden] { display: none }</style>';
  document.body.innerHTML = html;
  const batches: BlockReport[][] = [];
  /** Each `unchecked` count reported, in order. */
  const unchecked: number[] = [];
  /** Each not-checked report, in order. */
  const notChecked: Array<string | null> = [];
  labels = new LabelLayer();
  session = new PageSession(
    CONFIG,
    {
      async sendBlocks(_url, blocks, left) {
        if (left !== undefined) unchecked.push(left);
        batches.push(blocks);
        return { accepted: blocks.length, ...answer };
      },
      async checkImage() {
        return { status: 'safe' };
      },
      async notChecked(_url, reason) {
        notChecked.push(reason);
      },
    },
    labels,
    5,
    lateSendMs,
  );
  session.start();
  const sent = () => batches.flat();
  const texts = () => sent().map((b) => b.text);
  return { batches, sent, texts, session, unchecked, notChecked };
}

/** Waits until `n` blocks in all were sent, then a little longer to see that no more come. */
async function sentCount(sent: () => BlockReport[], n: number): Promise<void> {
  await vi.waitFor(() => expect(sent().length).toBeGreaterThanOrEqual(n), { timeout: 3000 });
  await new Promise((r) => setTimeout(r, 250));
  expect(sent().length).toBe(n);
}

afterEach(() => {
  session?.stop();
  labels?.dispose();
  session = null;
  labels = null;
  document.body.innerHTML = '';
});

describe('PageSession', () => {
  it('sends each visible block with words once, with a ref; not hidden, editable or wordless blocks', async () => {
    const { sent, texts } = start(`
      <h1>Title</h1><p>First paragraph.</p><p hidden>Hidden paragraph.</p>
      <div contenteditable="true"><p>Draft being typed.</p></div><p>12:00:01</p>
      <ul><li>One item</li></ul>`);
    await sentCount(sent, 3);
    expect(texts()).toEqual(['Title', 'First paragraph.', 'One item']);
    const refs = sent().map((b) => b.ref);
    expect(new Set(refs).size).toBe(3);
  });

  it('sends only new blocks when content is appended (infinite scroll, live feeds)', async () => {
    const { sent, texts } = start('<ol id="feed"><li>Entry one</li><li>Entry two</li></ol>');
    await sentCount(sent, 2);
    const feed = document.getElementById('feed')!;
    for (const word of ['three', 'four']) {
      const li = document.createElement('li');
      li.innerHTML = `Entry <b>${word}</b>`;
      feed.append(li);
    }
    await sentCount(sent, 4);
    expect(texts().slice(2)).toEqual(['Entry three', 'Entry four']);
  });

  it('sends a changed block again under the same ref, a few times at once, then its latest text now and then', async () => {
    const { sent } = start('<p id="p">Version 0</p>', {}, 2_500);
    await sentCount(sent, 1);
    const p = document.getElementById('p')!;
    p.firstChild!.nodeValue = 'Version 1';
    await sentCount(sent, 2);
    expect(sent()[1]).toMatchObject({ ref: sent()[0]!.ref, text: 'Version 1' });
    for (let i = 2; i < MAX_SENDS_PER_BLOCK + 5; i++) {
      p.textContent = `Version ${i}`;
      await new Promise((r) => setTimeout(r, 140));
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(sent().length).toBe(MAX_SENDS_PER_BLOCK);
    // What it ends up showing is still checked: one late send with the latest text, under the same ref.
    const last = `Version ${MAX_SENDS_PER_BLOCK + 4}`;
    await vi.waitFor(() => expect(sent().length).toBe(MAX_SENDS_PER_BLOCK + 1), { timeout: 4_000 });
    expect(sent().at(-1)).toMatchObject({ ref: sent()[0]!.ref, text: last });
    // A page cannot show anything unchecked by changing a paragraph many times first.
    p.textContent = 'The text it shows in the end';
    await new Promise((r) => setTimeout(r, 300));
    expect(sent().length).toBe(MAX_SENDS_PER_BLOCK + 1); // not at once
    await vi.waitFor(() => expect(sent().at(-1)?.text).toBe('The text it shows in the end'), {
      timeout: 5_000,
    });
    await new Promise((r) => setTimeout(r, 1_300));
    expect(sent().length).toBe(MAX_SENDS_PER_BLOCK + 2); // once, and nothing more while it stays the same
  }, 20_000);

  it('sends at most MAX_CHARS_PER_PAGE characters per page state, however much text a page has or adds', async () => {
    const para = `${'word '.repeat(2000).trim()}`; // 9,999 characters
    const count = Math.ceil(MAX_CHARS_PER_PAGE / para.length) + 20;
    const {
      sent,
      unchecked,
      session: s,
    } = start(Array.from({ length: count }, (_, i) => `<p>${i} ${para}</p>`).join(''));
    const fits = Math.floor(MAX_CHARS_PER_PAGE / (para.length + 3));
    await vi.waitFor(() => expect(sent().length).toBeGreaterThanOrEqual(fits), { timeout: 10_000 });
    await vi.waitFor(() => expect(unchecked.length).toBeGreaterThan(0), { timeout: 10_000 });
    const chars = () => sent().reduce((n, b) => n + b.text.length, 0);
    // What was left out is reported, not silent: every character of the page is either sent or counted.
    const total = Array.from({ length: count }, (_, i) => `${i} ${para}`.length).reduce((a, b) => a + b, 0);
    await vi.waitFor(() => expect(chars() + unchecked.at(-1)!).toBe(total), { timeout: 10_000 });
    const more = document.createElement('p');
    more.textContent = `Added after the budget was spent: ${para}`;
    document.body.append(more);
    await vi.waitFor(() => expect(unchecked.at(-1)).toBe(total - chars() + more.textContent.length));
    await new Promise((r) => setTimeout(r, 400));
    expect(chars()).toBeLessThanOrEqual(MAX_CHARS_PER_PAGE);
    expect(sent().length).toBeLessThan(count);
    expect(sent().some((b) => b.text.startsWith('Added after'))).toBe(false);
    // A report per change, not per slice: the count was sent twice (the first walk, the added paragraph).
    expect(unchecked).toHaveLength(2);
    // A fresh page state (a single-page navigation) starts from nothing and says so.
    s.fresh();
    await vi.waitFor(() => expect(unchecked.length).toBeGreaterThan(2), { timeout: 10_000 });
  });

  it('sends what becomes visible', async () => {
    const { sent, texts } = start('<p>Shown</p><div id="more" hidden><p>Read more text</p></div>');
    await sentCount(sent, 1);
    document.getElementById('more')!.removeAttribute('hidden');
    await sentCount(sent, 2);
    expect(texts()[1]).toBe('Read more text');
  });

  it('follows changes inside open shadow roots', async () => {
    const { sent, texts } = start('<x-card id="card"></x-card><p>Outside</p>');
    const shadow = document.getElementById('card')!.attachShadow({ mode: 'open' });
    shadow.innerHTML = '<p>Shadow text</p>';
    await sentCount(sent, 2);
    const added = document.createElement('p');
    added.textContent = 'Added in the shadow root';
    shadow.append(added);
    await sentCount(sent, 3);
    expect(texts()).toContain('Added in the shadow root');
  });

  it('enforces verdicts by ref, and forgets a flag when the text changes', async () => {
    const { sent } = start('<p id="bad">Bad text</p><p id="ok">Fine text</p>');
    await sentCount(sent, 2);
    const ref = sent().find((b) => b.text === 'Bad text')!.ref;
    session!.applyVerdicts([
      { ref, categories: ['S1', 'S10'], names: ['Violent Crimes', 'Hate'], action: 'blur' },
    ]);
    const bad = document.getElementById('bad')!;
    expect(bad.getAttribute('data-guardlens')).toBe('flagged');
    expect(bad.getAttribute('data-guardlens-categories')).toBe('S1 S10');
    expect(labels!.labelOf(bad)?.textContent).toContain('Violent Crimes, Hate');
    expect(document.getElementById('ok')!.hasAttribute('data-guardlens')).toBe(false);
    // An unknown ref is ignored.
    session!.applyVerdicts([{ ref: 'nope', categories: ['S1'], names: ['x'], action: 'blur' }]);

    bad.textContent = 'Other text now';
    await sentCount(sent, 3);
    expect(bad.hasAttribute('data-guardlens')).toBe(false);
    expect(labels!.labelOf(bad)).toBeUndefined();
  });

  it('starts a fresh page state on request: every block is reported again', async () => {
    const { sent, session: s } = start('<p>One</p><p>Two</p>');
    await sentCount(sent, 2);
    s.fresh();
    await sentCount(sent, 4);
    expect(sent()[2]!.ref).toBe(sent()[0]!.ref);
  });

  it('sends a batch again when the background stopped in the middle of answering', async () => {
    document.body.innerHTML = '<p>Only paragraph</p>';
    const sent: BlockReport[] = [];
    let calls = 0;
    labels = new LabelLayer();
    session = new PageSession(
      CONFIG,
      {
        async sendBlocks(_url, blocks) {
          calls++;
          if (calls === 1) throw new Error('The message port closed before a response was received.');
          sent.push(...blocks);
          return { accepted: blocks.length };
        },
        async checkImage() {
          return { status: 'safe' };
        },
        async notChecked() {},
      },
      labels,
      5,
    );
    session.start();
    await vi.waitFor(() => expect(sent.map((b) => b.text)).toEqual(['Only paragraph']), { timeout: 3000 });
    expect(calls).toBe(2);
  });

  it('stops when the background says the site is now paused', async () => {
    const { sent, session: s } = start('<p>One</p>', { inactive: 'paused' });
    await sentCount(sent, 1);
    expect(s.started).toBe(false);
    const p = document.createElement('p');
    p.textContent = 'Later';
    document.body.append(p);
    await new Promise((r) => setTimeout(r, 300));
    expect(sent().length).toBe(1);
  });
});

describe('page scan: a scan that fails is never shown as clean', () => {
  /** An element the walk cannot read: a page whose getter throws (no isolated world in this DOM). */
  function breakElement(el: Element, times = Number.POSITIVE_INFINITY): void {
    let left = times;
    Object.defineProperty(el, 'firstElementChild', {
      configurable: true,
      get() {
        if (left-- > 0) throw new Error('page getter throws');
        return Element.prototype.querySelector.call(this, ':scope > *');
      },
    });
  }

  it('reports the frame as not checked when the walk throws, and keeps what it could send', async () => {
    const { texts, notChecked } = start(
      '<p>Before the broken part</p><div id="broken"><p>Inside it</p></div><p>After it</p>',
    );
    breakElement(document.getElementById('broken')!);
    await vi.waitFor(() => expect(notChecked).toEqual(['scan-error']), { timeout: 3000 });
    await vi.waitFor(() => expect(texts()).toContain('Before the broken part'), { timeout: 3000 });
    // Tried once more, it fails again: reported once, never cleared in this page state.
    await new Promise((r) => setTimeout(r, 800));
    expect(notChecked).toEqual(['scan-error']);
    expect(texts()).not.toContain('Inside it');
  });

  it('walks a failed part again once, and a fresh page state clears the report', async () => {
    const {
      texts,
      notChecked,
      session: s,
    } = start('<p>Before the broken part</p><div id="broken"><p>Inside it</p></div><p>After it</p>');
    // The page breaks the walk once only (a frame taken away under it): the second walk reads everything.
    breakElement(document.getElementById('broken')!, 1);
    await vi.waitFor(() => expect(notChecked).toEqual(['scan-error']), { timeout: 3000 });
    await vi.waitFor(() => expect(texts()).toEqual(expect.arrayContaining(['Inside it', 'After it'])), {
      timeout: 3000,
    });
    s.fresh();
    await vi.waitFor(() => expect(notChecked).toEqual(['scan-error', null]), { timeout: 3000 });
  });
});

describe('page scan: on a long page, what is in view is sent before the walk is done', () => {
  const original = globalThis.IntersectionObserver;
  afterEach(() => {
    globalThis.IntersectionObserver = original;
  });

  it('sends the blocks in view once PASSED_AFTER in a row were reported below the viewport, the rest after the walk', async () => {
    // Reports each block as the browser would after the next frame: the first three in view, the others below.
    class ReportingObserver {
      constructor(private readonly callback: IntersectionObserverCallback) {}
      observe(target: Element) {
        queueMicrotask(() => {
          const inView = Number(target.getAttribute('data-i')) < 3;
          const top = inView ? 100 : 2000;
          const entry = {
            target,
            isIntersecting: inView,
            boundingClientRect: { top, bottom: top + 20 },
            rootBounds: { top: -250, bottom: 1250 },
          } as unknown as IntersectionObserverEntry;
          this.callback([entry], this as unknown as IntersectionObserver);
        });
      }
      unobserve() {}
      disconnect() {}
    }
    globalThis.IntersectionObserver = ReportingObserver as unknown as typeof IntersectionObserver;
    const count = 3000;
    const { batches, sent } = start(
      Array.from(
        { length: count },
        (_, i) => `<p data-i="${i}">Paragraph number ${i} of a long page.</p>`,
      ).join(''),
    );
    await sentCount(sent, count);
    // The first batch went as soon as the walk was past the viewport, before the walk's first full batch: the
    // blocks in view alone. The others went in full batches, as without it.
    const first = batches[0]!;
    expect(first.map((b) => [b.text, b.visible])).toEqual([
      ['Paragraph number 0 of a long page.', true],
      ['Paragraph number 1 of a long page.', true],
      ['Paragraph number 2 of a long page.', true],
    ]);
    expect(sent().filter((b) => b.visible)).toHaveLength(3);
    expect(batches[1]!.length).toBe(BATCH);
    // Every block once.
    expect(new Set(sent().map((b) => b.ref)).size).toBe(count);
  });
});
