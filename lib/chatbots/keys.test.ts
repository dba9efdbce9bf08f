import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMPOSITION_GRACE_MS, type KeyInfo, keyAction } from './keys';
import type { SiteKeys } from './sites';

const SEND: SiteKeys = { enter: 'send', modEnter: 'send' };
const KIMI: SiteKeys = { enter: 'send', modEnter: 'newline' };

function key(over: Partial<KeyInfo> = {}): KeyInfo {
  return {
    key: 'Enter',
    code: 'Enter',
    shiftKey: false,
    ctrlKey: false,
    metaKey: false,
    altKey: false,
    isComposing: false,
    keyCode: 13,
    ...over,
  };
}

describe('keyAction', () => {
  it('Enter sends; Shift+Enter and Alt+Enter are newlines the site handles', () => {
    expect(keyAction(key(), SEND)).toBe('send');
    expect(keyAction(key({ code: 'NumpadEnter' }), SEND)).toBe('send');
    expect(keyAction(key({ shiftKey: true }), SEND)).toBe('pass');
    expect(keyAction(key({ altKey: true }), SEND)).toBe('pass');
  });

  it('Cmd/Ctrl+Enter sends, except where the site makes it a newline', () => {
    expect(keyAction(key({ metaKey: true }), SEND)).toBe('send');
    expect(keyAction(key({ ctrlKey: true }), SEND)).toBe('send');
    expect(keyAction(key({ ctrlKey: true }), KIMI)).toBe('pass');
    expect(keyAction(key(), KIMI)).toBe('send');
    expect(keyAction(key(), { enter: 'newline', modEnter: 'send' })).toBe('pass');
  });

  it('never sends during an IME composition', () => {
    expect(keyAction(key({ isComposing: true }), SEND)).toBe('pass');
    expect(keyAction(key({ keyCode: 229 }), SEND)).toBe('pass');
    expect(keyAction(key({ key: 'Process', code: 'Enter', keyCode: 229 }), SEND)).toBe('pass');
  });

  it('swallows an Enter that comes right after compositionend, checks a later one', () => {
    expect(keyAction(key(), SEND, 0)).toBe('swallow');
    expect(keyAction(key(), SEND, COMPOSITION_GRACE_MS - 1)).toBe('swallow');
    expect(keyAction(key(), SEND, COMPOSITION_GRACE_MS)).toBe('send');
    expect(keyAction(key({ shiftKey: true }), SEND, 0)).toBe('swallow');
  });

  it('leaves every other key alone', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== 'Enter'),
        fc.boolean(),
        fc.boolean(),
        (k, shiftKey, isComposing) => {
          expect(
            keyAction(key({ key: k, code: `Key${k}`, shiftKey, isComposing, keyCode: 65 }), SEND, 0),
          ).toBe('pass');
        },
      ),
    );
  });
});
