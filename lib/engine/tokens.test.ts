import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import llama3Tokenizer from 'llama3-tokenizer-js';
import { describe, expect, it } from 'vitest';
import { estimateTokens } from './tokens';

const PAGES = join(__dirname, '../../../shared/corpus/pages');

const ENTITIES: Record<string, string> = { nbsp: ' ', lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' };

/** Visible text of a corpus page: tags stripped, common entities decoded, whitespace collapsed. */
function pageText(name: string): string {
  const html = readFileSync(join(PAGES, name, 'expected.html'), 'utf8');
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const cp =
          e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
        return Number.isFinite(cp) ? String.fromCodePoint(cp) : m;
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    })
    .replace(/\s+/g, ' ')
    .trim();
}

const real = (text: string) => llama3Tokenizer.encode(text, { bos: false, eos: false }).length;

const hanShare = (text: string) =>
  (text.match(/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/gu)?.length ?? 0) / text.length;

describe('estimateTokens', () => {
  const pages = readdirSync(PAGES).sort();

  it('has corpus pages to calibrate against', () => {
    expect(pages.length).toBeGreaterThan(10);
  });

  it('is within ±25% of the Llama 3 tokenizer on every corpus page', () => {
    const off: string[] = [];
    for (const page of pages) {
      const text = pageText(page);
      const ratio = estimateTokens(text) / real(text);
      if (ratio < 0.75 || ratio > 1.25) off.push(`${page}: ${ratio.toFixed(3)}`);
    }
    expect(off).toEqual([]);
  });

  it('never falls below 0.8× on Chinese and Japanese text', () => {
    const cjkPages = pages.filter((p) => hanShare(pageText(p)) > 0.3);
    expect(cjkPages.length).toBeGreaterThanOrEqual(4);
    const samples = [
      ...cjkPages.map(pageText),
      '今天早上，市中心举行了大规模示威活动，数千名居民参加。警方表示，一切进展平稳。',
      '今朝、市の中心部で大規模なデモが行われ、数千人の住民が参加しました。警察によると、すべて平穏に進んだとのことです。',
      '오늘 아침 시내 중심가에서 대규모 시위가 열렸으며 수천 명의 주민이 참여했습니다.',
      '廁所蹲坑時特地帶著食指大動的點心，此時剛好遇到鄰居。',
    ];
    for (const text of samples) {
      expect(estimateTokens(text) / real(text), text.slice(0, 20)).toBeGreaterThanOrEqual(0.8);
    }
  });

  it('handles empty, whitespace and tiny inputs', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('a')).toBe(1);
    expect(estimateTokens(' ')).toBe(1);
    expect(estimateTokens('Hello, world.')).toBe(real('Hello, world.'));
  });

  it('rejects what is not a string', () => {
    expect(() => estimateTokens(undefined as unknown as string)).toThrow(TypeError);
  });

  it('is roughly additive, so pieces priced apart fit when joined', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.string({ maxLength: 200 }), (a, b) => {
        const joined = estimateTokens(`${a}\n\n${b}`);
        expect(joined).toBeLessThanOrEqual(estimateTokens(a) + estimateTokens(b) + 2);
      }),
      { numRuns: 200 },
    );
  });

  it('counts astral characters as single code points', () => {
    expect(estimateTokens('𠀀𠀁')).toBe(2);
    expect(estimateTokens('🎉')).toBe(2);
  });
});
