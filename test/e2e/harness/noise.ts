/**
 * Background traffic the browsers still attempt after every switch the harness knows was turned off.
 * It reaches the network blocker like anything else and is refused; these rules only let tests tell it
 * apart from requests made by the extension or a test page.
 *
 * Chromium 156 (Debian build), measured with the flags in `chromium.ts`:
 * - `accounts.google.com` `POST /ListAccounts` (HTTPS, so a CONNECT): the sign-in cookie manager asks which
 *   Google accounts are signed in, at start and on a back-off. Neither the `signin.allowed` preference,
 *   the `BrowserSignin` policy nor `--disable-sync` stops it.
 * - `update.googleapis.com` `POST /service/update2/json` (HTTPS, then plain HTTP as a fallback): the component
 *   updater fetching the Optimization Guide on-device model manifest (`ceofaddefefcbblgcgnibnonglccbfja`), on
 *   demand. `--disable-component-update`, the `ComponentUpdatesEnabled` policy and turning off the
 *   Optimization Guide features do not stop it.
 *
 * Firefox ESR 153, with the preferences in `firefox.ts`: nothing left.
 */
import type { BlockedRequest } from './blocking-proxy';
import type { BrowserName } from './types';

export interface NoiseRule {
  host: string;
  /** For plain-HTTP requests, the path must start with this (tunnels only show the host). */
  pathPrefix?: string;
  why: string;
}

export const BROWSER_NOISE: Readonly<Record<BrowserName, readonly NoiseRule[]>> = {
  chromium: [
    {
      host: 'accounts.google.com',
      pathPrefix: '/ListAccounts',
      why: 'sign-in cookie manager ListAccounts; no flag, preference or policy stops it',
    },
    {
      host: 'update.googleapis.com',
      pathPrefix: '/service/update2/',
      why: 'component updater, Optimization Guide on-device model manifest; not stopped by flags or policy',
    },
  ],
  firefox: [],
};

export function isBrowserNoise(request: BlockedRequest, browser: BrowserName): boolean {
  return BROWSER_NOISE[browser].some((rule) => {
    if (request.host.toLowerCase() !== rule.host) return false;
    if (!request.url || !rule.pathPrefix) return true;
    try {
      return new URL(request.url).pathname.startsWith(rule.pathPrefix);
    } catch {
      return false;
    }
  });
}

/** `blocked` without the browser's known noise. */
export function withoutNoise(blocked: readonly BlockedRequest[], browser: BrowserName): BlockedRequest[] {
  return blocked.filter((r) => !isBrowserNoise(r, browser));
}
