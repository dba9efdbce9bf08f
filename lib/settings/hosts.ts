/**
 * Host patterns for Guardlens' site lists (excluded sites, paused sites, extra chatbot sites).
 *
 * A pattern is either an exact host (`example.com`, `127.0.0.1`, `[::1]`) or a wildcard `*.example.com`.
 * Matching rules:
 * - `example.com` matches that host only (not `www.example.com`).
 * - `*.example.com` matches `example.com` itself and every subdomain at any depth (`a.example.com`,
 *   `a.b.example.com`). People who write `*.bank.example` mean "the bank's sites", the bare domain included.
 * - Comparison is case-insensitive, ignores a trailing dot, and works on the ASCII (punycode) form, so
 *   `*.bücher.example` and `*.xn--bcher-kva.example` are the same pattern.
 * - Ports, paths and schemes are not part of a pattern; a pasted URL (`https://example.com/page`) is reduced
 *   to its host.
 */

import { type ProblemKey, problemText } from './problem-text';

export type HostPatternResult = { ok: true; pattern: string } | { ok: false; error: string };

/** Why a host is not usable: the problem sentence's key (its value is the pattern as typed). */
type HostProblem = Extract<ProblemKey, `settings_site_${string}`>;

const MAX_PATTERN_LENGTH = 260;

/** The canonical ASCII form of a host name, or null when it is not a usable host. */
function canonicalHost(raw: string): { host: string } | { error: HostProblem } {
  if (raw === '') return { error: 'settings_site_invalid' };
  if (/[/?#@\\\s]/.test(raw)) return { error: 'settings_site_host_only' };
  const bracketed = raw.startsWith('[');
  if (!bracketed && raw.includes(':')) return { error: 'settings_site_port' };
  if (bracketed && !raw.endsWith(']')) return { error: 'settings_site_port' };
  let host: string;
  try {
    host = new URL(`http://${raw}`).hostname;
  } catch {
    return { error: 'settings_site_invalid' };
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host === '') return { error: 'settings_site_invalid' };
  if (!host.startsWith('[')) {
    if (!/^[a-z0-9._-]+$/.test(host)) return { error: 'settings_site_characters' };
    if (host.length > 253) return { error: 'settings_site_host_long' };
    const labels = host.split('.');
    if (labels.some((label) => label === '')) return { error: 'settings_site_empty_label' };
    if (labels.some((label) => label.length > 63)) return { error: 'settings_site_label_long' };
  }
  return { host };
}

function isIpLiteral(host: string): boolean {
  return host.startsWith('[') || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}

/**
 * Checks and canonicalises one host pattern. Accepts an exact host, `*.domain`, or a pasted `http(s)` URL
 * (reduced to its host). Never throws.
 */
export function parseHostPattern(input: unknown): HostPatternResult {
  if (typeof input !== 'string') return { ok: false, error: problemText('settings_site_not_text') };
  let text = input.trim();
  const shown = JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
  if (text.length > MAX_PATTERN_LENGTH)
    return { ok: false, error: problemText('settings_site_too_long', shown) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return { ok: false, error: problemText('settings_site_bad_url', shown) };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return { ok: false, error: problemText('settings_site_scheme', shown) };
    }
    text = url.hostname;
  }
  let wildcard = false;
  if (text.startsWith('*.')) {
    wildcard = true;
    text = text.slice(2);
  }
  if (text === '*' || text === '') {
    return { ok: false, error: problemText('settings_site_everything', shown) };
  }
  if (text.includes('*')) {
    return { ok: false, error: problemText('settings_site_star', shown) };
  }
  const result = canonicalHost(text);
  if ('error' in result) return { ok: false, error: problemText(result.error, shown) };
  if (wildcard && isIpLiteral(result.host)) {
    return { ok: false, error: problemText('settings_site_wildcard_ip', shown) };
  }
  return { ok: true, pattern: wildcard ? `*.${result.host}` : result.host };
}

/** The canonical form of a host (from `URL.hostname` or typed), or null when it is not a host. */
export function normalizeHost(host: string): string | null {
  const result = canonicalHost(host.trim());
  return 'host' in result ? result.host : null;
}

/**
 * True when `host` is matched by `pattern` (see the module comment for the rules). An invalid pattern or host
 * matches nothing.
 */
export function hostMatches(pattern: string, host: string): boolean {
  const parsed = parseHostPattern(pattern);
  if (!parsed.ok) return false;
  const canonical = normalizeHost(host);
  if (canonical === null) return false;
  const p = parsed.pattern;
  if (!p.startsWith('*.')) return canonical === p;
  const base = p.slice(2);
  return canonical === base || canonical.endsWith(`.${base}`);
}

/** The canonical host of an `http(s)` URL, or null for other schemes and unparsable URLs. */
export function hostOfUrl(url: string | URL): string | null {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return null;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
  return normalizeHost(parsed.hostname);
}
