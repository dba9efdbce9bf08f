/**
 * Content keys: one SHA-256 per thing worth a request, so the same content is never sent twice.
 *
 * Public API:
 * - `normalizeText(text): string` — NFC, every whitespace run collapsed to one space, trimmed. What is keyed is
 *   also what is sent.
 * - `contentKey(item, fingerprint): Promise<string>` — lowercase SHA-256 hex (via `crypto.subtle`) of the
 *   normalized content (text, context, image) + kind + fingerprint (the settings that change a verdict:
 *   `settingsFingerprint` in `lib/settings/schema.ts`). Where the item was found (tab, URL, ref)
 *   is not part of it: the same content on two pages has the same key.
 * - `sha256Hex(text): Promise<string>`.
 */
import { EngineError, ITEM_KINDS, type ItemContent } from './types';

export function normalizeText(text: string): string {
  return text.normalize('NFC').replace(/\s+/gu, ' ').trim();
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export async function sha256Hex(text: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  const bytes = new Uint8Array(digest);
  let out = '';
  for (const b of bytes) out += HEX[b];
  return out;
}

export async function contentKey(item: ItemContent, fingerprint: string): Promise<string> {
  if (!item || !ITEM_KINDS.includes(item.kind)) {
    throw new EngineError('invalid-input', `Unknown item kind: ${String(item?.kind)}`);
  }
  if (typeof item.text !== 'string')
    throw new EngineError('invalid-input', 'An item needs text (may be empty).');
  if (typeof fingerprint !== 'string' || !fingerprint) {
    throw new EngineError('invalid-input', 'A content key needs the settings fingerprint.');
  }
  const image = item.imageData ?? item.imageUrl;
  if (image !== undefined && typeof image !== 'string') {
    throw new EngineError('invalid-input', 'An image must be given as a URL string.');
  }
  if (item.context !== undefined && typeof item.context !== 'string') {
    throw new EngineError('invalid-input', 'An item context must be a string.');
  }
  const payload = JSON.stringify([
    'guardlens-item-1',
    fingerprint,
    item.kind,
    normalizeText(item.text),
    item.context === undefined ? null : normalizeText(item.context),
    image === undefined ? null : image.trim(),
  ]);
  return sha256Hex(payload);
}
