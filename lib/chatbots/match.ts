/**
 * Which chatbot site a URL belongs to, and the match patterns that bring the chatbot content script there.
 *
 * Public API:
 * - `siteForUrl(url)`: the named site serving this URL, or null.
 * - `CHATBOT_MATCH_PATTERNS`: the content script's static match patterns: every named site's hosts (HTTPS).
 * - `hostPatternToMatchPatterns(pattern)`: a settings host pattern (`example.com`, `*.example.com`) as match
 *   patterns, one per scheme.
 * - `extraSiteMatchPatterns(extraChatbotSites)`: match patterns for the sites the person added, checked and
 *   de-duplicated.
 * - `isExtraChatbotSite(extraChatbotSites, url)`: does one of the person's patterns match the URL's host.
 */
import { hostMatches, hostOfUrl, parseHostPattern } from '../settings/hosts';
import { CHATBOT_SITES, type ChatbotSite } from './sites';

function pathMatches(site: ChatbotSite, pathname: string): boolean {
  if (!site.paths) return true;
  return site.paths.some(
    (p) => pathname === p || pathname.startsWith(`${p}/`) || pathname.startsWith(`${p}?`),
  );
}

/** The named site serving `url`, or null (other hosts, other schemes, other paths of a shared host). */
export function siteForUrl(url: string | URL): ChatbotSite | null {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return null;
  }
  const host = hostOfUrl(parsed);
  if (host === null) return null;
  return (
    CHATBOT_SITES.find((site) => site.hosts.includes(host) && pathMatches(site, parsed.pathname)) ?? null
  );
}

/** Match patterns of one named site. */
export function siteMatchPatterns(site: ChatbotSite): string[] {
  const paths = site.paths ?? [''];
  return site.hosts.flatMap((host) => paths.map((p) => `https://${host}${p ? `${p}*` : '/*'}`));
}

/** Every named site's match patterns (the content script's `matches`). */
export const CHATBOT_MATCH_PATTERNS: readonly string[] = Object.freeze(
  CHATBOT_SITES.flatMap(siteMatchPatterns),
);

/**
 * A settings host pattern as match patterns, one per scheme (https first; permissions are granted per scheme).
 * `*.example.com` becomes `https://*.example.com/*`, which (like the settings pattern) also matches `example.com`
 * itself. Empty for a pattern that is not valid.
 */
export function hostPatternToMatchPatterns(pattern: string): string[] {
  const parsed = parseHostPattern(pattern);
  if (!parsed.ok) return [];
  return [`https://${parsed.pattern}/*`, `http://${parsed.pattern}/*`];
}

/** Match patterns for the person's extra chatbot sites: valid ones only, each once, in the given order. */
export function extraSiteMatchPatterns(extraChatbotSites: readonly string[]): string[] {
  const out: string[] = [];
  for (const pattern of extraChatbotSites) {
    for (const match of hostPatternToMatchPatterns(pattern)) if (!out.includes(match)) out.push(match);
  }
  return out;
}

/** True when one of the person's extra chatbot site patterns matches the URL's host. */
export function isExtraChatbotSite(extraChatbotSites: readonly string[], url: string | URL): boolean {
  const host = hostOfUrl(url);
  if (host === null) return false;
  return extraChatbotSites.some((pattern) => hostMatches(pattern, host));
}
