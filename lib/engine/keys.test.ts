import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contentKey, normalizeText, sha256Hex } from './keys';
import { EngineError, type ItemInput } from './types';

const FP = 'llama-guard-4-12b chat';

const place = (tabId: number, url: string, ref: string) =>
  ({ tabId, frameId: 0, url, ref, priority: 'page' }) as const;

describe('normalizeText', () => {
  it('collapses whitespace, trims and composes to NFC', () => {
    expect(normalizeText('  a\n\t b\u00a0\u2003c  ')).toBe('a b c');
    expect(normalizeText('Cafe\u0301')).toBe('Café');
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const once = normalizeText(s);
        expect(normalizeText(once)).toBe(once);
      }),
      { numRuns: 300 },
    );
  });
});

describe('contentKey', () => {
  it('is lowercase SHA-256 hex', async () => {
    expect(await sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(await contentKey({ kind: 'text', text: 'hello' }, FP)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives the same key to the same content on two pages', async () => {
    const a: ItemInput = { kind: 'text', text: 'Some  paragraph\n', ...place(1, 'https://a.example/', 'r1') };
    const b: ItemInput = { kind: 'text', text: 'Some paragraph', ...place(7, 'https://b.example/x', 'r99') };
    expect(await contentKey(a, FP)).toBe(await contentKey(b, FP));
  });

  it('ignores whitespace and Unicode composition differences', async () => {
    expect(await contentKey({ kind: 'text', text: 'Cafe\u0301  au lait' }, FP)).toBe(
      await contentKey({ kind: 'text', text: 'Café au lait' }, FP),
    );
  });

  it('differs by kind, context, image and fingerprint', async () => {
    const base = await contentKey({ kind: 'text', text: 'x' }, FP);
    const others = await Promise.all([
      contentKey({ kind: 'prompt', text: 'x' }, FP),
      contentKey({ kind: 'reply', text: 'x', context: 'question' }, FP),
      contentKey({ kind: 'reply', text: 'x', context: 'another question' }, FP),
      contentKey({ kind: 'image', text: 'x', imageUrl: 'https://a.example/i.png' }, FP),
      contentKey({ kind: 'image', text: 'x', imageData: 'data:image/png;base64,AAAA' }, FP),
      contentKey({ kind: 'text', text: 'x' }, 'llama-guard-3-8b chat'),
    ]);
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
  });

  it('does not confuse where text ends and context begins', async () => {
    const a = await contentKey({ kind: 'reply', text: 'a b', context: 'c' }, FP);
    const b = await contentKey({ kind: 'reply', text: 'a', context: 'b c' }, FP);
    expect(a).not.toBe(b);
  });

  it('rejects bad input with a typed error', async () => {
    await expect(contentKey({ kind: 'video' as 'text', text: 'x' }, FP)).rejects.toBeInstanceOf(EngineError);
    await expect(contentKey({ kind: 'text', text: 42 as unknown as string }, FP)).rejects.toMatchObject({
      kind: 'invalid-input',
    });
    await expect(contentKey({ kind: 'text', text: 'x' }, '')).rejects.toMatchObject({
      kind: 'invalid-input',
    });
  });
});
