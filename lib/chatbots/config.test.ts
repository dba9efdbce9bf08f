import { describe, expect, it } from 'vitest';
import { defaultSettings, type Settings } from '../settings/schema';
import { PROMPT_CHECK_TIMEOUT_MS, type PromptPageInfo, promptConfigFor } from './config';

const page = (over: Partial<PromptPageInfo> = {}): PromptPageInfo => ({
  url: 'https://chatgpt.com/',
  incognito: false,
  notConfigured: null,
  promptGuardLocked: false,
  ...over,
});

function settings(over: Partial<Settings> = {}): Settings {
  return { ...defaultSettings(), ...over };
}

describe('promptConfigFor', () => {
  it('turns the guard on for named chatbot sites by default', () => {
    expect(promptConfigFor(settings(), page())).toEqual({
      active: true,
      siteId: 'chatgpt',
      mode: 'block',
      failMode: 'open',
      sendAnyway: true,
      checkReplies: false,
      timeoutMs: PROMPT_CHECK_TIMEOUT_MS,
    });
  });

  it('follows chatbotSites and extraChatbotSites', () => {
    expect(promptConfigFor(settings({ chatbotSites: { chatgpt: false } }), page())).toMatchObject({
      active: false,
      reason: 'site-off',
    });
    expect(promptConfigFor(settings(), page({ url: 'https://chat.example.org/' }))).toMatchObject({
      active: false,
      reason: 'not-chatbot',
    });
    expect(
      promptConfigFor(
        settings({ extraChatbotSites: ['*.example.org'] }),
        page({ url: 'https://chat.example.org/' }),
      ),
    ).toMatchObject({ active: true, siteId: 'generic' });
  });

  it('stays off on excluded and paused sites, in incognito unless allowed, and before set-up', () => {
    expect(promptConfigFor(settings({ excludedSites: ['chatgpt.com'] }), page())).toMatchObject({
      active: false,
      reason: 'excluded',
    });
    expect(promptConfigFor(settings({ pausedSites: ['chatgpt.com'] }), page())).toMatchObject({
      reason: 'paused',
    });
    expect(promptConfigFor(settings(), page({ incognito: true }))).toMatchObject({ reason: 'incognito' });
    expect(promptConfigFor(settings({ allowIncognito: true }), page({ incognito: true })).active).toBe(true);
    expect(promptConfigFor(settings(), page({ notConfigured: 'No key.' }))).toMatchObject({
      reason: 'not-configured',
    });
  });

  it('is active for replies only when the guard is off but reply checks are on', () => {
    expect(promptConfigFor(settings({ promptGuard: 'off' }), page())).toMatchObject({
      active: false,
      reason: 'guard-off',
    });
    expect(promptConfigFor(settings({ promptGuard: 'off', checkReplies: true }), page())).toMatchObject({
      active: true,
      mode: 'off',
      checkReplies: true,
    });
  });

  it('offers Send anyway unless a policy locks the guard in block mode', () => {
    expect(promptConfigFor(settings(), page({ promptGuardLocked: true })).sendAnyway).toBe(false);
    expect(
      promptConfigFor(settings({ promptGuard: 'warn' }), page({ promptGuardLocked: true })).sendAnyway,
    ).toBe(true);
    expect(promptConfigFor(settings({ failMode: 'closed' }), page()).failMode).toBe('closed');
  });
});
