/**
 * "Show on page" from the popup (`page:reveal`): scrolls a flagged element of this frame into view and draws a
 * highlight around it for a moment. The highlight is an overlay of its own (a host element with a closed shadow
 * root, fixed over the element's box, pointer-events none), so the page's layout and CSS are untouched and what
 * the person's action blurs or hides stays blurred or hidden. An element hidden by the "hide" action has no box:
 * its nearest rendered ancestor is shown instead. The popup says "Shown on the page", so the highlight is not
 * the only signal.
 */
import type { RevealResult } from '@/utils/messages';
import { onMessage } from '@/utils/messages';
import { markOwnUi, OWN_UI_ATTRIBUTE } from './extract';
import { measure } from './slices';

/** How long the highlight stays once the page is visible. */
export const HIGHLIGHT_MS = 2000;
export const HIGHLIGHT_TAG = 'guardlens-reveal';

/** On the host itself, inline and important: page style sheets cannot move, hide or restyle it. */
const HOST_CSS =
  'all:initial!important;display:block!important;position:fixed!important;z-index:2147483647!important;' +
  'pointer-events:none!important;box-sizing:border-box!important;margin:0!important;';
const CSS = `div{position:absolute;inset:-4px;border:3px solid #c2410c;border-radius:6px;box-shadow:0 0 0 3px #fff,0 0 14px 4px rgba(194,65,12,.55)}
@media (prefers-reduced-motion:no-preference){div{animation:p .6s ease-in-out 3 alternate}}
@keyframes p{to{box-shadow:0 0 0 3px #fff,0 0 4px 1px rgba(194,65,12,.3)}}`;

/** The element itself when it has a box, else its nearest ancestor that does (across shadow roots). */
export function renderedTarget(element: Element): Element | undefined {
  let current: Element | null = element;
  while (current) {
    if (current.getClientRects().length > 0) return current;
    current = current.parentElement ?? ((current.getRootNode() as ShadowRoot).host || null);
  }
  return undefined;
}

/** One highlight at a time, per frame. */
export class Highlight {
  private host: HTMLElement | null = null;
  private target: Element | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private frame = 0;
  private readonly follow = () => this.place();
  private readonly onVisible = () => this.startTimer();

  constructor(
    private readonly doc: Document = document,
    private readonly ms = HIGHLIGHT_MS,
  ) {}

  get element(): HTMLElement | null {
    return this.host;
  }

  /** Scrolls `target` into view and highlights it; replaces any highlight already shown. */
  show(target: Element): void {
    this.clear();
    const view = this.doc.defaultView;
    const smooth =
      this.doc.visibilityState === 'visible' &&
      !view?.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
    target.scrollIntoView({ behavior: smooth ? 'smooth' : 'instant', block: 'center', inline: 'nearest' });
    const host = this.doc.createElement(HIGHLIGHT_TAG);
    host.setAttribute(OWN_UI_ATTRIBUTE, '');
    markOwnUi(host);
    host.setAttribute('aria-hidden', 'true');
    const root = host.attachShadow({ mode: 'closed' });
    const style = this.doc.createElement('style');
    style.textContent = CSS;
    root.append(style, this.doc.createElement('div'));
    this.host = host;
    this.target = target;
    this.place();
    this.doc.documentElement.append(host);
    this.doc.addEventListener('scroll', this.follow, { capture: true, passive: true });
    view?.addEventListener('resize', this.follow, { passive: true });
    this.tick();
    // A hidden tab (the popup open in a tab of its own) keeps it until the person comes back to the page.
    if (this.doc.visibilityState === 'visible') this.startTimer();
    else this.doc.addEventListener('visibilitychange', this.onVisible);
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.doc.removeEventListener('scroll', this.follow, { capture: true });
    this.doc.defaultView?.removeEventListener('resize', this.follow);
    this.doc.removeEventListener('visibilitychange', this.onVisible);
    this.host?.remove();
    this.host = null;
    this.target = null;
  }

  private startTimer(): void {
    if (this.doc.visibilityState !== 'visible' || this.timer !== undefined) return;
    this.doc.removeEventListener('visibilitychange', this.onVisible);
    this.timer = setTimeout(() => this.clear(), this.ms);
  }

  /** Follows the element while a smooth scroll or the page moves it. */
  private tick(): void {
    this.frame = requestAnimationFrame(() => {
      this.place();
      if (this.host) this.tick();
    });
  }

  private place(): void {
    const host = this.host;
    const target = this.target;
    if (!host || !target) return;
    if (!target.isConnected) {
      this.clear();
      return;
    }
    const r = target.getBoundingClientRect();
    host.style.cssText = `${HOST_CSS}top:${r.top}px!important;left:${r.left}px!important;width:${r.width}px!important;height:${r.height}px!important`;
  }
}

/** Shows `element` (found by its ref in this frame's session): `found: false` when it is gone. */
export function reveal(highlight: Highlight, element: Element | undefined): RevealResult {
  if (!element?.isConnected) return { found: false };
  const target = renderedTarget(element);
  if (!target) return { found: false };
  highlight.show(target);
  return { found: true };
}

/**
 * Answers `page:reveal` for this frame. Returns the function that stops answering and removes the highlight
 * (for the content script's invalidation).
 */
export function answerReveal(elementOf: (ref: string) => Element | undefined): () => void {
  const highlight = new Highlight();
  const remove = onMessage(
    'page:reveal',
    ({ data }) =>
      measure(
        () => reveal(highlight, typeof data?.ref === 'string' ? elementOf(data.ref) : undefined),
        'reveal',
      ) ?? {
        found: false,
      },
  );
  return () => {
    remove();
    highlight.clear();
  };
}
