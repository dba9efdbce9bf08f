/**
 * Content keys: one SHA-256 per thing worth a request, so the same content is never sent twice.
 *
 * Public API:
 * - `normalizeText(text): string` — NFC, every whitespace run collapsed to one space, trimmed. What is keyed is
 *   also what is sent.
 * - `settingsFingerprint({ model, mode, policy? }): string` — a canonical string for the settings that change a
 *   verdict (model, request mode, category policy). Object keys are sorted, so equal settings always give the
 *   same fingerprint.
 * - `contentKey(item, fingerprint): Promise<string>` — lowercase SHA-256 hex (via `crypto.subtle`) of the
 *   normalized content (text, context, image) + kind + fingerprint. Where the item was found (tab, URL, ref)
 *   is not part of it: the same content on two pages has the same key.
 * - `sha256Hex(text): Promise<string>`.
 */
import { EngineError, ITEM_KINDS, type ItemContent } from './types';

export function normalizeText(text: string): string {
  return text.normalize('NFC').replace(/\s+/gu, ' ').trim();
}

export interface FingerprintInput {
  /** The model as sent to the endpoint (provider and model id). */
  model: string;
  /** How requests are made, e.g. 'chat' or 'raw'. */
  mode: string;
  /** Whatever else changes verdicts: excluded categories, a custom category table… */
  policy?: unknown;
}

export function settingsFingerprint(input: FingerprintInput): string {
  if (
    !input ||
    typeof input.model !== 'string' ||
    !input.model ||
    typeof input.mode !== 'string' ||
    !input.mode
  ) {
    throw new EngineError('invalid-input', 'A settings fingerprint needs a model and a mode.');
  }
  return canonicalJson({ model: input.model, mode: input.mode, policy: input.policy ?? null });
}

/** JSON with object keys sorted at every level; `undefined` members are left out, as JSON does. */
function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const out = JSON.stringify(value);
    return out === undefined ? 'null' : out;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`);
  return `{${parts.join(',')}}`;
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
