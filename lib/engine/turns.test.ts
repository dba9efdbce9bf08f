import { describe, expect, it } from 'vitest';
import { chunkTurns, itemTurns } from './turns';
import { EngineError } from './types';

describe('itemTurns', () => {
  it('sends page text and prompts as one user turn', () => {
    expect(itemTurns({ kind: 'text', text: 'hello' })).toEqual([{ role: 'user', text: 'hello' }]);
    expect(itemTurns({ kind: 'prompt', text: 'q' })).toEqual([{ role: 'user', text: 'q' }]);
  });

  it('sends a reply after the prompt it answers (response classification)', () => {
    expect(itemTurns({ kind: 'reply', text: 'answer', context: 'question' })).toEqual([
      { role: 'user', text: 'question' },
      { role: 'assistant', text: 'answer' },
    ]);
    expect(itemTurns({ kind: 'reply', text: 'answer' })[0]).toEqual({ role: 'user', text: '' });
  });

  it('sends an image with its alt text or caption, preferring inline data', () => {
    expect(
      itemTurns({
        kind: 'image',
        text: 'alt',
        context: 'caption',
        imageUrl: 'https://a.example/x.png',
        imageData: 'data:image/png;base64,AAAA',
      }),
    ).toEqual([{ role: 'user', text: 'alt\ncaption', images: ['data:image/png;base64,AAAA'] }]);
    expect(() => itemTurns({ kind: 'image', text: 'alt' })).toThrow(EngineError);
  });
});

describe('chunkTurns', () => {
  it('joins blocks with blank lines in one user turn', () => {
    expect(chunkTurns(['a', 'b'])).toEqual([{ role: 'user', text: 'a\n\nb' }]);
    expect(() => chunkTurns([])).toThrow(EngineError);
  });
});
