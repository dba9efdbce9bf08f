/**
 * Host permissions for endpoints, asked for at run time (`optional_host_permissions` in Chrome,
 * `optional_permissions` in Firefox) rather than at install: only the origin of the endpoint the person chose.
 *
 * `browser.permissions.request` must run while the click that asked for it is being handled (Firefox refuses it
 * after any other `await`), so callers work out the origins first, synchronously, and request them before
 * anything else.
 */
import { problemMessage } from '@/components/i18n';
import { originPattern, validateBaseUrl } from '@/lib/providers/presets';

/** Origins the manifest already grants (`host_permissions`): plain http on this computer, any port. */
const GRANTED_HOSTS = new Set(['localhost', '127.0.0.1']);

/** `error`: why the base URL cannot be used, in the messages file's words. */
export type OriginsNeeded = { ok: true; origins: string[]; origin: string } | { ok: false; error: string };

/** The match patterns to request for an endpoint's base URL (none for what the manifest already grants). */
export function originsForBaseUrl(baseUrl: string): OriginsNeeded {
  const checked = validateBaseUrl(baseUrl);
  if (!checked.ok) return { ok: false, error: problemMessage(checked.error) };
  const url = new URL(checked.origin);
  if (url.protocol === 'http:' && GRANTED_HOSTS.has(url.hostname))
    return { ok: true, origins: [], origin: checked.origin };
  return { ok: true, origins: [originPattern(checked.origin)], origin: checked.origin };
}

/** Asks for the origins (granted at once, without a prompt, when the extension already has them). */
export async function requestOrigins(origins: string[]): Promise<boolean> {
  if (origins.length === 0) return true;
  try {
    return await browser.permissions.request({ origins });
  } catch {
    return false;
  }
}

/**
 * Images on ordinary sites: the background downloads them (a page's canvas would be tainted), which the browser
 * allows only with a host permission for their sites. Images the page itself can read (`data:`, `blob:`, its own
 * site's) are checked without it.
 */
export const IMAGE_ORIGINS: readonly string[] = ['https://*/*', 'http://*/*'];

/** Whether images from other sites can be checked: `undefined` while not known. */
export async function hasImageOrigins(): Promise<boolean | undefined> {
  try {
    if (await browser.permissions.contains({ origins: [...IMAGE_ORIGINS] })) return true;
    // Chrome counts the page content script's `<all_urls>` as access to every site (and downloads with it).
    return await browser.permissions.contains({ origins: ['<all_urls>'] });
  } catch {
    return undefined;
  }
}

/**
 * Asks for the image origins. Call it first thing in a click handler: the request starts synchronously,
 * before anything else is awaited.
 */
export function requestImageOrigins(): Promise<boolean> {
  return requestOrigins([...IMAGE_ORIGINS]);
}

/** Calls `onChange` whenever the browser grants or takes back an origin permission (also from its own settings). */
export function watchOriginPermissions(onChange: () => void): () => void {
  const api = browser.permissions;
  const listener = (p: { origins?: string[] }) => {
    if (p.origins?.length) onChange();
  };
  api.onAdded?.addListener(listener);
  api.onRemoved?.addListener(listener);
  return () => {
    api.onAdded?.removeListener(listener);
    api.onRemoved?.removeListener(listener);
  };
}

/**
 * Turning image checks on in the options: the permission request goes out at once, in the same click, then the
 * setting changes whatever the answer (the page's own images are checked without it, and the section says what
 * is missing). Turning them off, or on with access already there, asks for nothing. `granted` gets the answer.
 */
export function toggleImages(
  on: boolean,
  update: (patch: { scanImages: boolean }) => void,
  granted: (allowed: boolean) => void,
  /** Access already known to be there: nothing to ask. */
  alreadyGranted = false,
): Promise<void> {
  if (!on || alreadyGranted) {
    update({ scanImages: on });
    return Promise.resolve();
  }
  const asked = requestImageOrigins();
  update({ scanImages: true });
  return asked.then(granted);
}

export type ImageAccess = 'off' | 'unknown' | 'granted' | 'needed';

/** What the Page scanning section says about image access. */
export function imageAccess(scanImages: boolean, granted: boolean | undefined): ImageAccess {
  if (!scanImages) return 'off';
  if (granted === undefined) return 'unknown';
  return granted ? 'granted' : 'needed';
}
