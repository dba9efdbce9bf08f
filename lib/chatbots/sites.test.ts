// @vitest-environment happy-dom
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkSettingsField } from '../settings/schema';
import { CHATBOT_MATCH_PATTERNS, siteForUrl } from './match';
import { CHATBOT_SITES, GENERIC_SITE, getChatbotSite, NOT_A_SEND } from './sites';

const NAMED = [
  'chatgpt',
  'claude',
  'gemini',
  'copilot',
  'perplexity',
  'deepseek',
  'grok',
  'lechat',
  'metaai',
  'huggingchat',
  'qwen',
  'kimi',
  'poe',
];

describe('chatbot site adapters', () => {
  it('cover every named chatbot, each with a valid settings id', () => {
    expect(CHATBOT_SITES.map((s) => s.id)).toEqual(NAMED);
    const ids = Object.fromEntries(CHATBOT_SITES.map((s) => [s.id, true]));
    const checked = checkSettingsField('chatbotSites', ids);
    expect(checked.ok && checked.notes).toEqual([]);
    expect(getChatbotSite('gemini')?.name).toBe('Gemini');
    expect(getChatbotSite('nope')).toBeUndefined();
  });

  it('list lower-case exact hosts, none shared between two sites', () => {
    const seen = new Map<string, string>();
    for (const site of CHATBOT_SITES) {
      expect(site.hosts.length).toBeGreaterThan(0);
      for (const host of site.hosts) {
        expect(host).toMatch(/^[a-z0-9.-]+$/);
        expect(seen.get(host)).toBeUndefined();
        seen.set(host, site.id);
      }
    }
  });

  it('have at least one selector for the roles the guard needs, all valid CSS', () => {
    for (const site of [...CHATBOT_SITES, GENERIC_SITE]) {
      const { composer, send, reply, container, stop, userTurn, streaming, attachments, stale } =
        site.selectors;
      expect(composer.length, site.id).toBeGreaterThan(0);
      expect(send.length, site.id).toBeGreaterThan(0);
      if (site.id !== 'generic') expect(reply.length, site.id).toBeGreaterThan(0);
      for (const selector of [
        ...composer,
        ...send,
        ...reply,
        ...container,
        ...stop,
        ...userTurn,
        ...streaming,
        ...attachments,
        ...stale,
      ]) {
        expect(() => document.querySelector(selector), `${site.id}: ${selector}`).not.toThrow();
      }
    }
  });

  it('rank data attributes before localized labels for the composer and the send control', () => {
    for (const site of CHATBOT_SITES) {
      for (const role of ['composer', 'send'] as const) {
        const list = site.selectors[role];
        const firstLabel = list.findIndex((s) => /aria-label=/.test(s));
        if (firstLabel >= 0) expect(firstLabel, `${site.id} ${role}`).toBeGreaterThan(0);
      }
    }
  });

  it('Kimi makes Ctrl+Enter a newline; the others send on it', () => {
    for (const site of CHATBOT_SITES) {
      expect(site.keys.enter).toBe('send');
      expect(site.keys.modEnter).toBe(site.id === 'kimi' ? 'newline' : 'send');
    }
  });

  it('tells stop, voice and upload controls from send controls', () => {
    expect(NOT_A_SEND.test('stop-button Stop')).toBe(true);
    expect(NOT_A_SEND.test('Start Voice')).toBe(true);
    expect(NOT_A_SEND.test('upload-photos-input')).toBe(true);
    expect(NOT_A_SEND.test('send-button Send message')).toBe(false);
  });

  it('the built content script would match every named site (the manifest uses CHATBOT_MATCH_PATTERNS)', () => {
    for (const site of CHATBOT_SITES) {
      for (const host of site.hosts) {
        const path = site.paths?.[0] ?? '';
        const url = `https://${host}${path}/`;
        expect(siteForUrl(url)?.id, url).toBe(site.id);
        const matched = CHATBOT_MATCH_PATTERNS.some((p) => {
          const re = new RegExp(`^${p.replace(/[.?]/g, '\\$&').replace(/\*/g, '.*')}$`);
          return re.test(url);
        });
        expect(matched, url).toBe(true);
      }
    }
  });

  it('match the hosts SELECTORS.md names for each site', () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const doc = readFileSync(path.join(here, '../../../shared/chatbots/SELECTORS.md'), 'utf8');
    const documented = [
      'chatgpt.com',
      'chat.openai.com',
      'claude.ai',
      'gemini.google.com',
      'copilot.microsoft.com',
      'www.copilot.com',
      'www.perplexity.ai',
      'chat.deepseek.com',
      'grok.com',
      'chat.mistral.ai',
      'www.meta.ai',
      'huggingface.co',
      'chat.qwen.ai',
      'www.kimi.com',
      'poe.com',
    ];
    for (const host of documented) {
      expect(doc).toContain(host);
      expect(
        CHATBOT_SITES.some((s) => s.hosts.includes(host)),
        host,
      ).toBe(true);
    }
  });
});
