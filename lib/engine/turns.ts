/**
 * How work items become the conversation a Llama Guard model classifies.
 *
 * Public API:
 * - `itemTurns(item): ConversationTurn[]` — page text and prompts are one user turn (prompt classification);
 *   a reply is the user's prompt (its `context`) then the assistant's reply (response classification); an image
 *   is a user turn carrying the image and its alt text or caption.
 * - `chunkTurns(texts): ConversationTurn[]` — several page text blocks as one user turn, separated by blank lines.
 */
import type { ConversationTurn } from '../guard/types';
import { BLOCK_SEPARATOR } from './chunker';
import { EngineError, type ItemContent } from './types';

export function itemTurns(item: ItemContent): ConversationTurn[] {
  switch (item.kind) {
    case 'text':
    case 'prompt':
      return [{ role: 'user', text: item.text }];
    case 'reply':
      return [
        { role: 'user', text: item.context ?? '' },
        { role: 'assistant', text: item.text },
      ];
    case 'image': {
      const image = item.imageData ?? item.imageUrl;
      if (!image) throw new EngineError('invalid-input', 'An image item needs imageData or imageUrl.');
      const text = [item.text, item.context].filter((s) => s?.trim()).join('\n');
      return [{ role: 'user', text, images: [image] }];
    }
    default:
      throw new EngineError(
        'invalid-input',
        `Unknown item kind: ${String((item as { kind?: unknown }).kind)}`,
      );
  }
}

export function chunkTurns(texts: readonly string[]): ConversationTurn[] {
  if (texts.length === 0) throw new EngineError('invalid-input', 'A chunk needs at least one block.');
  return [{ role: 'user', text: texts.join(BLOCK_SEPARATOR) }];
}
