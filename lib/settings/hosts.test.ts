import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostMatches, hostOfUrl, normalizeHost, parseHostPattern } from './hosts';

describe('parseHostPattern', () => {
  it.each([
    ['example.com', 'example.com'],
    ['  Example.COM  ', 'example.com'],
    ['example.com.', 'example.com'],
    ['*.bank.example', '*.bank.example'],
    ['*.Bücher.example', '*.xn--bcher-kva.example'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['https://www.example.com/some/page?q=1', 'www.example.com'],
    ['http://localhost:8080/', 'localhost'],
    ['127.0.0.1', '127.0.0.1'],
    ['[::1]', '[::1]'],
    ['localhost', 'localhost'],
  ])('accepts %j as %j', (input, expected) => {
    expect(parseHostPattern(input)).toEqual({ ok: true, pattern: expected });
  });

  it.each([
    ['', /every site/],
    ['*', /every site/],
    ['*.', /every site/],
    ['ex*ample.com', /only as a leading/],
    ['*.*.example.com', /only as a leading/],
    ['example.com/path', /host name only/],
    ['example.com:8080', /port/],
    ['a b.com', /host name only/],
    ['a..b', /empty label/],
    ['*.127.0.0.1', /IP address/],
    ['a!b.example', /characters a host name cannot have/],
    ['ftp://example.com', /http\(s\) URL/],
    ['x'.repeat(300), /too long/],
    [`${'a'.repeat(64)}.com`, /longer than 63/],
  ])('rejects %j with a clear error', (input, message) => {
    const result = parseHostPattern(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });

  it('rejects values that are not strings', () => {
    for (const value of [42, null, undefined, {}, ['a.com']]) {
      expect(parseHostPattern(value)).toEqual({ ok: false, error: 'A site pattern must be a string.' });
    }
  });
});

describe('hostMatches', () => {
  it('matches exact hosts only for a plain pattern', () => {
    expect(hostMatches('example.com', 'example.com')).toBe(true);
    expect(hostMatches('example.com', 'EXAMPLE.com')).toBe(true);
    expect(hostMatches('example.com', 'example.com.')).toBe(true);
    expect(hostMatches('example.com', 'www.example.com')).toBe(false);
    expect(hostMatches('example.com', 'notexample.com')).toBe(false);
  });

  it('matches the domain itself and every subdomain for *.domain', () => {
    expect(hostMatches('*.bank.example', 'bank.example')).toBe(true);
    expect(hostMatches('*.bank.example', 'www.bank.example')).toBe(true);
    expect(hostMatches('*.bank.example', 'a.b.c.bank.example')).toBe(true);
    expect(hostMatches('*.bank.example', 'evilbank.example')).toBe(false);
    expect(hostMatches('*.bank.example', 'bank.example.evil.com')).toBe(false);
  });

  it('compares IDN hosts in their ASCII form, whichever form each side uses', () => {
    expect(hostMatches('*.bücher.example', 'shop.xn--bcher-kva.example')).toBe(true);
    expect(hostMatches('*.xn--bcher-kva.example', 'shop.bücher.example')).toBe(true);
    expect(hostMatches('BÜCHER.example', 'bücher.example')).toBe(true);
  });

  it('matches nothing for an invalid pattern or host', () => {
    expect(hostMatches('*', 'example.com')).toBe(false);
    expect(hostMatches('', 'example.com')).toBe(false);
    expect(hostMatches('example.com', '')).toBe(false);
    expect(hostMatches('example.com', 'a b')).toBe(false);
  });

  it('a wildcard pattern matches exactly the hosts that equal or end with ".domain" (property)', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
    // The last label starts with a letter: an all-digit last label makes the host an IPv4 address.
    const tld = fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/);
    const domain = fc
      .tuple(fc.array(label, { maxLength: 2 }), tld)
      .map(([parts, last]) => [...parts, last].join('.'));
    fc.assert(
      fc.property(domain, fc.array(label, { maxLength: 3 }), domain, (base, sub, other) => {
        const host = [...sub, base].join('.');
        expect(hostMatches(`*.${base}`, host)).toBe(true);
        expect(hostMatches(base, host)).toBe(sub.length === 0);
        const expected = other === base || other.endsWith(`.${base}`);
        expect(hostMatches(`*.${base}`, other)).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });
});

describe('normalizeHost and hostOfUrl', () => {
  it('normalizes hosts and rejects non-hosts', () => {
    expect(normalizeHost('WWW.Example.com.')).toBe('www.example.com');
    expect(normalizeHost('not a host')).toBeNull();
  });

  it('reads the host of http(s) URLs only', () => {
    expect(hostOfUrl('https://Sub.Example.com:8443/x')).toBe('sub.example.com');
    expect(hostOfUrl(new URL('http://bücher.example/'))).toBe('xn--bcher-kva.example');
    expect(hostOfUrl('file:///etc/passwd')).toBeNull();
    expect(hostOfUrl('chrome://settings')).toBeNull();
    expect(hostOfUrl('not a url')).toBeNull();
  });
});
