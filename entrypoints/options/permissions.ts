/**
 * Host permissions for endpoints, asked for at run time (`optional_host_permissions` in Chrome,
 * `optional_permissions` in Firefox) rather than at install: only the origin of the endpoint the person chose.
 *
 * `browser.permissions.request` must run while the click that asked for it is being handled (Firefox refuses it
 * after any other `await`), so callers work out the origins first, synchronously, and request them before
 * anything else.
 */
import { validateBaseUrl } from '@/lib/providers/presets';

/** Origins the manifest already grants (`host_permissions`): plain http on this computer, any port. */
const GRANTED_HOSTS = new Set(['localhost', '127.0.0.1']);

export type OriginsNeeded = { ok: true; origins: string[]; origin: string } | { ok: false; error: string };

/** The match patterns to request for an endpoint's base URL (none for what the manifest already grants). */
export function originsForBaseUrl(baseUrl: string): OriginsNeeded {
  const checked = validateBaseUrl(baseUrl);
  if (!checked.ok) return checked;
  const url = new URL(checked.origin);
  if (url.protocol === 'http:' && GRANTED_HOSTS.has(url.hostname))
    return { ok: true, origins: [], origin: checked.origin };
  // No port in the pattern: Firefox's match patterns take none, and Chrome's match every port without one.
  return { ok: true, origins: [`${url.protocol}//${url.hostname}/*`], origin: checked.origin };
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
