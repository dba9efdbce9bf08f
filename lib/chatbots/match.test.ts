import { describe, expect, it } from 'vitest';
import {
  CHATBOT_MATCH_PATTERNS,
  extraSiteMatchPatterns,
  hostPatternToMatchPatterns,
  isExtraChatbotSite,
  siteForUrl,
} from './match';

describe('siteForUrl', () => {
  it('finds the named site of a URL, on every host it is served from', () => {
    expect(siteForUrl('https://chatgpt.com/c/abc')?.id).toBe('chatgpt');
    expect(siteForUrl('https://chat.openai.com/')?.id).toBe('chatgpt');
    expect(siteForUrl('https://CLAUDE.ai/new')?.id).toBe('claude');
    expect(siteForUrl('https://www.copilot.com/')?.id).toBe('copilot');
    expect(siteForUrl('https://kimi.moonshot.cn/chat/1')?.id).toBe('kimi');
    expect(siteForUrl(new URL('https://poe.com/Assistant'))?.id).toBe('poe');
  });

  it('keeps a shared host to its chat paths', () => {
    expect(siteForUrl('https://huggingface.co/chat/')?.id).toBe('huggingchat');
    expect(siteForUrl('https://huggingface.co/chat')?.id).toBe('huggingchat');
    expect(siteForUrl('https://huggingface.co/chat/conversation/1')?.id).toBe('huggingchat');
    expect(siteForUrl('https://huggingface.co/models')).toBeNull();
    expect(siteForUrl('https://huggingface.co/chatterbox')).toBeNull();
  });

  it('is null for other hosts, schemes and garbage', () => {
    expect(siteForUrl('https://example.com/')).toBeNull();
    expect(siteForUrl('https://evilchatgpt.com/')).toBeNull();
    expect(siteForUrl('https://chatgpt.com.evil.example/')).toBeNull();
    expect(siteForUrl('ftp://chatgpt.com/')).toBeNull();
    expect(siteForUrl('not a url')).toBeNull();
  });
});

describe('match patterns', () => {
  it('are HTTPS patterns for every named host', () => {
    expect(CHATBOT_MATCH_PATTERNS).toContain('https://chatgpt.com/*');
    expect(CHATBOT_MATCH_PATTERNS).toContain('https://huggingface.co/chat*');
    for (const p of CHATBOT_MATCH_PATTERNS) expect(p).toMatch(/^https:\/\/[a-z0-9.-]+\/[a-z]*\*$/);
  });

  it('turn the person host patterns into match patterns per scheme', () => {
    expect(hostPatternToMatchPatterns('example.com')).toEqual([
      'https://example.com/*',
      'http://example.com/*',
    ]);
    expect(hostPatternToMatchPatterns('*.Example.com')).toEqual([
      'https://*.example.com/*',
      'http://*.example.com/*',
    ]);
    expect(hostPatternToMatchPatterns('https://chat.example.org/x')).toEqual([
      'https://chat.example.org/*',
      'http://chat.example.org/*',
    ]);
    expect(hostPatternToMatchPatterns('[::1]')).toEqual(['https://[::1]/*', 'http://[::1]/*']);
    expect(hostPatternToMatchPatterns('*')).toEqual([]);
    expect(hostPatternToMatchPatterns('exa mple.com')).toEqual([]);
  });

  it('drop invalid and repeated extra sites', () => {
    expect(extraSiteMatchPatterns(['a.example', 'A.example', 'bad host', '*.b.example'])).toEqual([
      'https://a.example/*',
      'http://a.example/*',
      'https://*.b.example/*',
      'http://*.b.example/*',
    ]);
    expect(extraSiteMatchPatterns([])).toEqual([]);
  });

  it('isExtraChatbotSite follows the settings matching rules', () => {
    expect(isExtraChatbotSite(['*.example.com'], 'https://example.com/')).toBe(true);
    expect(isExtraChatbotSite(['*.example.com'], 'https://chat.example.com/x')).toBe(true);
    expect(isExtraChatbotSite(['example.com'], 'https://chat.example.com/')).toBe(false);
    expect(isExtraChatbotSite(['127.0.0.1'], 'http://127.0.0.1:8080/page')).toBe(true);
    expect(isExtraChatbotSite(['example.com'], 'file:///x')).toBe(false);
  });
});
