/**
 * Finding a chatbot's composer, its send control and its replies on the live page, from a site adapter's ranked
 * selectors (`lib/chatbots/sites.ts`) with the generic detector as the fallback. Every lookup happens when it is
 * needed (no cached elements), so re-rendered composers and SPA navigation need no special care.
 *
 * Hidden and stale copies are ignored: an element counts only when it is connected, rendered, not inside a
 * `stale` scope of the site (earlier routes kept mounted, `aria-hidden`, `inert`).
 */
import { type ChatbotSite, GENERIC_SITE, NOT_A_SEND } from '@/lib/chatbots/sites';
import { readNodeText } from '@/lib/chatbots/text';

/**
 * Guardlens' own UI carries this attribute (for people and tools inspecting the page), but it is recognised by
 * identity (`markOwnUi`): a page that plants the attribute on its own send button must not slip past the guard.
 */
export const OWN_UI_ATTRIBUTE = 'data-guardlens-ui';

const ownUiHosts = new WeakSet<Element>();

/** Registers a host element of Guardlens' own UI. */
export function markOwnUi(host: Element): void {
  ownUiHosts.add(host);
}

/** Whether `el` is in Guardlens' own UI: a registered host or inside one (across shadow roots). */
export function isOwnUi(el: Element | null): boolean {
  let node: Node | null = el;
  while (node) {
    if (node instanceof Element && ownUiHosts.has(node)) return true;
    node = node.parentNode ?? (node instanceof ShadowRoot ? node.host : null);
  }
  return false;
}

const CONTROL = 'button, [role="button"], input[type="submit"]';
/** How far up from a composer a send control may sit. */
const MAX_CONTAINER_DEPTH = 8;

function safeMatches(el: Element, selector: string): boolean {
  try {
    return el.matches(selector);
  } catch {
    return false; // a selector this browser does not know (e.g. `:has` in an old one)
  }
}

function safeClosest(el: Element, selector: string): Element | null {
  try {
    return el.closest(selector);
  } catch {
    return null;
  }
}

function safeQueryAll(root: ParentNode, selector: string): Element[] {
  try {
    return [...root.querySelectorAll(selector)];
  } catch {
    return [];
  }
}

function matchesAny(el: Element, selectors: readonly string[]): boolean {
  return selectors.some((s) => safeMatches(el, s));
}

/** Rendered and not inside a stale or hidden scope. */
export function isLive(el: Element, site: ChatbotSite): boolean {
  if (!el.isConnected) return false;
  if (site.selectors.stale.some((s) => safeClosest(el, s))) return false;
  const withCheck = el as Element & { checkVisibility?: (o?: object) => boolean };
  if (typeof withCheck.checkVisibility === 'function') {
    if (!withCheck.checkVisibility({ visibilityProperty: true, opacityProperty: false })) return false;
  } else if (el.getClientRects().length === 0) {
    return false;
  }
  return true;
}

/** The element a keyboard or mouse event really happened on (inside open shadow roots too). */
export function eventTarget(event: Event): Element | null {
  const path = event.composedPath?.();
  const first = path && path.length > 0 ? path[0] : event.target;
  if (first instanceof Element) return first;
  if (first instanceof Node) return first.parentElement;
  return null;
}

/** The textarea, or the outermost contenteditable, that `el` is in; null when it is in neither. */
export function editableRoot(el: Element | null): HTMLElement | null {
  if (!el) return null;
  if (el instanceof HTMLTextAreaElement) return el;
  if (el instanceof HTMLInputElement) return null;
  let node: HTMLElement | null = el instanceof HTMLElement ? el : el.parentElement;
  if (!node?.isContentEditable) return null;
  while (node.parentElement?.isContentEditable) node = node.parentElement;
  return node;
}

/** The site's composers that are live now, best-ranked selector first. */
export function siteComposers(doc: Document, site: ChatbotSite): HTMLElement[] {
  const out: HTMLElement[] = [];
  for (const selector of site.selectors.composer) {
    for (const el of safeQueryAll(doc, selector)) {
      const root = editableRoot(el);
      if (root && !out.includes(root) && isLive(root, site) && !isHelperEditable(root)) out.push(root);
    }
  }
  return out;
}

function isDisabled(el: Element): boolean {
  if ((el as HTMLButtonElement).disabled || el.getAttribute('aria-disabled') === 'true') return true;
  if (safeClosest(el, 'fieldset[disabled]')) return true;
  // Sites that mark the control's wrapper instead (`.send-button-container.disabled`).
  return !!el.parentElement?.classList.contains('disabled');
}

/** An editable that only helps an editor (Quill's clipboard, offscreen input catchers): never a composer. */
function isHelperEditable(el: Element): boolean {
  if (el.getAttribute('tabindex') === '-1' && !(el as HTMLElement).matches(':focus')) return true;
  const rect = el.getBoundingClientRect();
  return rect.width < 2 || rect.height < 2 || rect.right < 0 || rect.bottom < 0;
}

function attributeWords(el: Element): string {
  return ['data-testid', 'id', 'class', 'aria-label', 'title', 'name']
    .map((a) => el.getAttribute(a) ?? '')
    .join(' ');
}

export function isStopControl(el: Element, site: ChatbotSite): boolean {
  return (
    matchesAny(el, site.selectors.stop) ||
    (site.id === 'generic' && matchesAny(el, GENERIC_SITE.selectors.stop))
  );
}

/** The nearest ancestor of `composer` that holds the controls: a site container, else a few levels up. */
function containersOf(composer: Element, site: ChatbotSite): Element[] {
  const out: Element[] = [];
  for (const selector of site.selectors.container) {
    const c = safeClosest(composer, selector);
    if (c && !out.includes(c)) out.push(c);
  }
  let node = composer.parentElement;
  for (let depth = 0; node && depth < MAX_CONTAINER_DEPTH; depth++, node = node.parentElement) {
    if (node === composer.ownerDocument.body) break;
    if (!out.includes(node)) out.push(node);
  }
  // Smallest first.
  return out.sort((a, b) => (a.contains(b) ? 1 : b.contains(a) ? -1 : 0));
}

/** Editable roots inside `container` other than `composer` that are live. */
function otherComposers(container: Element, composer: Element, site: ChatbotSite): number {
  let n = 0;
  for (const el of safeQueryAll(container, 'textarea, [contenteditable="true"], [contenteditable=""]')) {
    const root = editableRoot(el);
    if (
      root &&
      root !== composer &&
      !composer.contains(root) &&
      isLive(root, site) &&
      !isHelperEditable(root)
    )
      n++;
  }
  return n;
}

function sendCandidates(container: Element, site: ChatbotSite, generic: boolean): Element[] {
  const selectors = generic ? GENERIC_SITE.selectors.send : site.selectors.send;
  for (const selector of selectors) {
    let found = safeQueryAll(container, selector)
      .map((el) => safeClosest(el, CONTROL) ?? el)
      .filter((el) => isLive(el, site) && !isStopControl(el, site));
    if (generic) found = found.filter((el) => !NOT_A_SEND.test(attributeWords(el)));
    if (found.length > 0) return site.sendPick === 'last' ? found.reverse() : found;
  }
  return [];
}

/**
 * The send control that belongs to `composer`: the site's send selectors in the composer's container, then the
 * generic ones. Stop controls never count. `enabledOnly`: skip disabled ones.
 */
export function findSendControl(
  composer: Element,
  site: ChatbotSite,
  enabledOnly = false,
): HTMLElement | null {
  for (const generic of site.id === 'generic' ? [true] : [false, true]) {
    for (const container of containersOf(composer, site)) {
      if (otherComposers(container, composer, site) > 0) break; // too wide: it holds another composer
      const found = sendCandidates(container, site, generic).filter((el) => !enabledOnly || !isDisabled(el));
      if (found.length > 0) return found[0] as HTMLElement;
    }
  }
  return null;
}

/** Is `root` (an editable root) a composer of this site? */
export function isComposer(root: HTMLElement, site: ChatbotSite, doc: Document): boolean {
  if (!isLive(root, site)) return false;
  if (site.id !== 'generic') {
    if (matchesAny(root, site.selectors.composer)) return true;
    // The site's selectors found a composer elsewhere: this editable is something else (an edit box, a canvas).
    if (siteComposers(doc, site).length > 0) return false;
  }
  // Generic detection: an editable with a send-like control beside it.
  return findSendControl(root, site.id === 'generic' ? site : GENERIC_SITE) !== null;
}

/** The control a click landed on, if it is a send control of a composer, with that composer. */
export function sendClickTarget(
  target: Element,
  site: ChatbotSite,
  doc: Document,
): { control: HTMLElement; composer: HTMLElement | null } | null {
  const control = (safeClosest(target, CONTROL) ??
    site.selectors.send.map((s) => safeClosest(target, s)).find((el) => el !== null) ??
    null) as HTMLElement | null;
  if (!control || isStopControl(control, site) || !isLive(control, site)) return null;
  // A click on a control inside the composer itself (a chip's remove button) is not a send.
  if (editableRoot(control)) return null;
  const composers = [...siteComposers(doc, site)];
  if (site.id === 'generic' || composers.length === 0) {
    for (const el of safeQueryAll(doc, GENERIC_SITE.selectors.composer.join(','))) {
      const root = editableRoot(el);
      if (root && !composers.includes(root) && isLive(root, site) && !isHelperEditable(root))
        composers.push(root);
    }
  }
  for (const composer of composers) {
    const generic = site.id === 'generic' || !matchesAny(composer, site.selectors.composer);
    const send = findSendControl(composer, generic ? GENERIC_SITE : site);
    if (send === control) return { control, composer };
  }
  // A site send control while no composer can be found at all (its markup changed): still a send, whose text the
  // guard then reports it could not read. With a composer found, a control that is not its send is something else.
  if (site.id !== 'generic' && composers.length === 0 && matchesAny(control, site.selectors.send)) {
    return { control, composer: null };
  }
  return null;
}

export function isControlDisabled(el: Element): boolean {
  return isDisabled(el);
}

/** The composer a form's submit belongs to. */
export function composerInForm(form: HTMLFormElement, site: ChatbotSite, doc: Document): HTMLElement | null {
  for (const composer of siteComposers(doc, site)) if (form.contains(composer)) return composer;
  for (const el of safeQueryAll(form, GENERIC_SITE.selectors.composer.join(','))) {
    const root = editableRoot(el);
    if (root && isLive(root, site) && !isHelperEditable(root) && findSendControl(root, GENERIC_SITE))
      return root;
  }
  return null;
}

/** The composer's text as the site would send it (not yet cleaned). */
export function readComposer(composer: HTMLElement): string {
  if (composer instanceof HTMLTextAreaElement || composer instanceof HTMLInputElement) return composer.value;
  return readNodeText(composer);
}

/** Does the composer's container hold attachments (files, images, pasted documents) the check cannot see? */
export function hasAttachments(composer: Element, site: ChatbotSite): boolean {
  // The site's own container (its composer form), else the smallest ancestor that holds a control.
  const own = site.selectors.container
    .map((sel) => safeClosest(composer, sel))
    .find((c) => c !== null && otherComposers(c, composer, site) === 0);
  const scope =
    own ??
    containersOf(composer, site).find(
      (c) => otherComposers(c, composer, site) === 0 && c.querySelector(CONTROL),
    ) ??
    composer.parentElement;
  if (!scope) return false;
  for (const input of safeQueryAll(scope, 'input[type="file"]')) {
    if (((input as HTMLInputElement).files?.length ?? 0) > 0) return true;
  }
  return site.selectors.attachments.some((s) => safeQueryAll(scope, s).some((el) => isLive(el, site)));
}

/** Live reply elements of the site, from the first reply selector that finds any. */
export function findReplies(doc: Document, site: ChatbotSite): HTMLElement[] {
  for (const selector of site.selectors.reply) {
    const found = safeQueryAll(doc, selector).filter(
      (el) => el instanceof HTMLElement && isLive(el, site) && !editableRoot(el),
    ) as HTMLElement[];
    // Nested matches (a reply inside a reply container that matched too): keep the outermost.
    const outer = found.filter((el) => !found.some((other) => other !== el && other.contains(el)));
    if (outer.length > 0) return outer;
  }
  return [];
}

/** Is a stop control showing anywhere on the page (a reply is being written)? */
export function stopShowing(site: ChatbotSite, doc: Document): boolean {
  return site.selectors.stop.some((s) => safeQueryAll(doc, s).some((el) => isLive(el, site)));
}

/** Is this reply still being written: a streaming marker on it or around it, or (`stop`) a stop control showing. */
export function isStreaming(reply: Element, site: ChatbotSite, stop: boolean): boolean {
  if (stop) return true;
  return site.selectors.streaming.some((s) => safeClosest(reply, s) || safeQueryAll(reply, s).length > 0);
}

/** The text of the user turn just before `reply` in the document, or null. */
export function userTurnBefore(reply: Element, site: ChatbotSite, doc: Document): string | null {
  let best: Element | null = null;
  for (const selector of site.selectors.userTurn) {
    for (const el of safeQueryAll(doc, selector)) {
      if (!(reply.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_PRECEDING) || el.contains(reply))
        continue;
      if (!best || best.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING) best = el;
    }
    if (best) break;
  }
  return best ? readNodeText(best) : null;
}

/** Puts the caret at the end of the composer and focuses it (for "Edit prompt"). */
export function focusAtEnd(composer: HTMLElement): void {
  composer.focus({ preventScroll: false });
  if (composer instanceof HTMLTextAreaElement) {
    const end = composer.value.length;
    composer.setSelectionRange(end, end);
    return;
  }
  const selection = composer.ownerDocument.getSelection();
  if (!selection) return;
  const range = composer.ownerDocument.createRange();
  range.selectNodeContents(composer);
  range.collapse(false);
  selection.removeAllRanges();
  selection.addRange(range);
}
