import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GuardError, GuardOutputError } from './errors';
import { parseVerdict } from './parse';
import { getGuardModel, listGuardModels } from './registry';

const LG4 = getGuardModel('llama-guard-4-12b');
const LG3 = getGuardModel('llama-guard-3-8b');
const LG2 = getGuardModel('llama-guard-2-8b');
const LG1 = getGuardModel('llama-guard-7b');

const safe = { safe: true, categories: [], unknownCategories: [] };
const unsafe = (categories: string[], unknownCategories: string[] = []) => ({
  safe: false,
  categories,
  unknownCategories,
});

describe('parseVerdict: the quirks seen in the wild', () => {
  it.each([
    ['safe', safe],
    ['\n\nsafe', safe],
    ['  \n safe  \n', safe],
    ['safe<|eot_id|>', safe],
    ['safe<|eot|>', safe],
    ['safe</s>', safe],
    ['\n\nsafe <|eot_id|>\n', safe],
    ['SAFE', safe],
    ['Safe\r\n', safe],
    ['unsafe\nS1', unsafe(['S1'])],
    ['unsafe \nS1', unsafe(['S1'])],
    ['unsafe\nS1,S10', unsafe(['S1', 'S10'])],
    ['unsafe\nS1, S2', unsafe(['S1', 'S2'])],
    ['unsafe\nS1 ,  S2 ', unsafe(['S1', 'S2'])],
    ['\n\nunsafe\nS1,S10<|eot_id|>', unsafe(['S1', 'S10'])],
    ['unsafe\ns3<|eot|>', unsafe(['S3'])],
    ['UNSAFE\r\nS14</s>', unsafe(['S14'])],
    ['unsafe\n\nS2', unsafe(['S2'])],
    ['unsafe', unsafe([])],
    ['unsafe ', unsafe([])],
    ['\n\nunsafe<|eot_id|>', unsafe([])],
    ['unsafe\nS1,S1,S2', unsafe(['S1', 'S2'])],
    ['unsafe\nS10,S1', unsafe(['S10', 'S1'])],
  ])('%j', (output, expected) => {
    expect(parseVerdict(output, LG4)).toEqual(expected);
  });

  it("reads Llama Guard 1's O-codes", () => {
    expect(parseVerdict('unsafe\nO3', LG1)).toEqual(unsafe(['O3']));
    expect(parseVerdict(' unsafe\nO1,O6</s>', LG1)).toEqual(unsafe(['O1', 'O6']));
  });

  it('keeps codes the model does not define and lists them as unknown', () => {
    expect(parseVerdict('unsafe\nS14', LG2)).toEqual(unsafe(['S14'], ['S14']));
    expect(parseVerdict('unsafe\nS1,S15', LG3)).toEqual(unsafe(['S1', 'S15'], ['S15']));
    expect(parseVerdict('unsafe\nS1', LG1)).toEqual(unsafe(['S1'], ['S1']));
    expect(parseVerdict('unsafe\nO3', LG4)).toEqual(unsafe(['O3'], ['O3']));
  });

  it('counts Llama Guard 4 image categories and custom tables as known', () => {
    const custom = { S1: 'Violent Crimes.', S15: 'Gambling.' };
    expect(parseVerdict('unsafe\nS15', LG4, { custom })).toEqual(unsafe(['S15']));
    expect(parseVerdict('unsafe\nS2', LG4, { custom })).toEqual(unsafe(['S2'], ['S2']));
    // Custom codes need not look like S-codes; they keep the table's spelling.
    expect(parseVerdict('unsafe\nc1, S1', LG4, { custom: { C1: 'Gambling.' } })).toEqual(
      unsafe(['C1', 'S1'], ['S1']),
    );
  });

  it.each([
    '',
    '   \n  ',
    '<|eot_id|>',
    'The content is safe.',
    'safe.',
    'safe\nS1',
    'safe, mostly',
    'safe\nunsafe',
    'not safe',
    'unsafe\nviolent crimes',
    'unsafe\nS1\nS2',
    'unsafe\nS1\nbecause it is violent',
    'unsafe S1',
    'unsafe\nS1,',
    'unsafe\nS1,,S2',
    'unsafe\nS',
    'unsafe\nS1;S2',
    'unsafe\nS1 S2',
    'unsafe\nX1',
    'sa fe',
    "I'm sorry, I can't help with that.",
    'unsafe<|eot_id|>S1',
    '<|eot_id|>safe',
    '{"safe": true}',
  ])('rejects %j', (output) => {
    expect(() => parseVerdict(output, LG4)).toThrow(GuardOutputError);
  });

  it('never returns safe for non-text input', () => {
    expect(() => parseVerdict(undefined as unknown as string, LG4)).toThrow(GuardOutputError);
    expect(() => parseVerdict(null as unknown as string, LG4)).toThrow(GuardOutputError);
  });

  it('puts the offending output in the error, truncated', () => {
    try {
      parseVerdict(`I think ${'x'.repeat(1000)}`, LG4);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(GuardOutputError);
      const e = err as GuardOutputError;
      expect(e.kind).toBe('bad-output');
      expect(e.output.startsWith('I think x')).toBe(true);
      expect(e.output.length).toBeLessThan(300);
    }
  });
});

describe('parseVerdict: properties', () => {
  const models = listGuardModels();

  it('over arbitrary strings, it returns a verdict or throws GuardOutputError, nothing else', () => {
    const text = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 60 }),
      fc.string({ maxLength: 60 }),
      fc
        .tuple(
          fc.constantFrom('safe', 'unsafe', 'SAFE', 'Unsafe', '\n\n', ''),
          fc.string({ maxLength: 20 }),
          fc.constantFrom('', '<|eot_id|>', '</s>', '\n'),
        )
        .map((parts) => parts.join('')),
    );
    fc.assert(
      fc.property(text, fc.constantFrom(...models), (output, model) => {
        try {
          const v = parseVerdict(output, model);
          // Whatever parsed must be one of the two shapes, and "safe" only for an answer that says safe.
          if (v.safe) {
            expect(v.categories).toEqual([]);
            expect(output.toLowerCase()).toContain('safe');
            expect(output.toLowerCase()).not.toContain('unsafe');
          } else {
            expect(output.toLowerCase()).toContain('unsafe');
          }
        } catch (err) {
          expect(err).toBeInstanceOf(GuardOutputError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('"safe" followed by any other text is an error', () => {
    const junk = fc
      .string({ minLength: 1, maxLength: 30 })
      .filter((s) => s.trim() !== '' && !/^\s*(<\|eot(_id)?\|>|<\/s>|\s)*$/.test(s));
    fc.assert(
      fc.property(junk, fc.constantFrom('\n', ' ', ''), (tail, sep) => {
        expect(() => parseVerdict(`safe${sep}${tail}`, LG4)).toThrow(GuardError);
      }),
      { numRuns: 200 },
    );
  });

  it('reads well-formed answers with any mix of quirks', () => {
    const quirks = fc.record({
      lead: fc.constantFrom('', '\n\n', ' ', '\n \n'),
      caseFn: fc.constantFrom<(s: string) => string>(
        (s) => s,
        (s) => s.toUpperCase(),
        (s) => s.charAt(0).toUpperCase() + s.slice(1),
      ),
      afterWord: fc.constantFrom('', ' '),
      newline: fc.constantFrom('\n', '\r\n'),
      sep: fc.constantFrom(',', ', ', ' , '),
      codeCase: fc.boolean(),
      tail: fc.constantFrom('', '<|eot_id|>', '<|eot|>', '</s>', '\n', ' <|eot_id|>\n'),
    });
    const answer = fc.constantFrom(...models).chain((model) =>
      fc.record({
        model: fc.constant(model),
        codes: fc.oneof(
          fc.constant(null),
          fc.uniqueArray(fc.constantFrom(...model.categories.map((c) => c.code)), {
            minLength: 0,
            maxLength: 4,
          }),
        ),
        q: quirks,
      }),
    );
    fc.assert(
      fc.property(answer, ({ model, codes, q }) => {
        let out: string;
        if (codes === null) out = `${q.lead}${q.caseFn('safe')}${q.tail}`;
        else if (codes.length === 0) out = `${q.lead}${q.caseFn('unsafe')}${q.afterWord}${q.tail}`;
        else {
          const line = codes.map((c) => (q.codeCase ? c.toLowerCase() : c)).join(q.sep);
          out = `${q.lead}${q.caseFn('unsafe')}${q.afterWord}${q.newline}${line}${q.tail}`;
        }
        const v = parseVerdict(out, model);
        if (codes === null) expect(v).toEqual(safe);
        else expect(v).toEqual(unsafe(codes));
      }),
      { numRuns: 300 },
    );
  });
});
