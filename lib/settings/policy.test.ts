import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getPreset } from '../providers/presets';
import {
  applyPolicy,
  type ManagedPolicy,
  POLICY_CATEGORY_ACTIONS,
  POLICY_ENUMS,
  POLICY_KEY_TYPES,
  POLICY_KEYS,
  POLICY_LOCK_REASON,
  parseManagedPolicy,
  pickPolicy,
} from './policy';
import { defaultSettings, normalizeSettings } from './schema';

interface SchemaNode {
  type?: string;
  title?: string;
  description?: string;
  enum?: string[];
  items?: SchemaNode;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
}

const managedSchema = JSON.parse(
  readFileSync(new URL('../../public/managed_schema.json', import.meta.url), 'utf8'),
) as SchemaNode;

describe('public/managed_schema.json', () => {
  it("is an object schema in Chrome's dialect (no top-level additionalProperties)", () => {
    expect(managedSchema.type).toBe('object');
    expect(managedSchema.additionalProperties).toBeUndefined();
    expect(managedSchema.properties).toBeTypeOf('object');
  });

  it('lists exactly the keys the policy parser knows, with their types and descriptions', () => {
    const properties = managedSchema.properties!;
    expect(Object.keys(properties).sort()).toEqual([...POLICY_KEYS].sort());
    for (const key of POLICY_KEYS) {
      const node = properties[key]!;
      expect(node.type, key).toBe(POLICY_KEY_TYPES[key]);
      expect(node.description, key).toBeTruthy();
      // Chrome accepts one of `type` or `$ref` per schema: every node here has a type.
      if (node.type === 'array') expect(node.items).toEqual({ type: 'string' });
    }
  });

  it('has the same enums as the parser', () => {
    const properties = managedSchema.properties!;
    for (const [key, values] of Object.entries(POLICY_ENUMS)) {
      expect(properties[key]!.enum, key).toEqual([...values]);
    }
    const withEnum = Object.entries(properties)
      .filter(([, node]) => node.enum)
      .map(([key]) => key);
    expect(withEnum.sort()).toEqual(Object.keys(POLICY_ENUMS).sort());
    expect(properties.categoryActions!.additionalProperties).toEqual({
      type: 'string',
      enum: [...POLICY_CATEGORY_ACTIONS],
    });
  });

  it('every enum value parses, and a value outside it does not', () => {
    for (const [key, values] of Object.entries(POLICY_ENUMS)) {
      for (const value of values) {
        // A custom provider needs a base URL beside it.
        const extra = value === 'custom' ? { baseUrl: 'https://gw.example.org/v1' } : {};
        const { policy, problems } = parseManagedPolicy({ [key]: value, ...extra });
        expect(problems, `${key}=${value}`).toEqual([]);
        expect(policy).toEqual({ [key]: value, ...extra });
      }
      expect(parseManagedPolicy({ [key]: 'not-a-value' }).policy).toEqual({});
    }
  });
});

describe('docs/managed-policy.md', () => {
  it('has examples for Chrome and Firefox that parse without problems', () => {
    const doc = readFileSync(new URL('../../docs/managed-policy.md', import.meta.url), 'utf8');
    const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!));
    const chrome = blocks
      .map((b) => b['3rdparty']?.extensions?.pmmobbhmpddpcfiehnfikpngpoikbilp)
      .filter(Boolean);
    const firefox = blocks
      .map((b) => b.policies?.['3rdparty']?.Extensions?.['guardlens@guardlens.dev'])
      .filter(Boolean);
    expect(chrome).toHaveLength(1);
    expect(firefox).toHaveLength(1);
    for (const raw of [...chrome, ...firefox]) {
      const { policy, problems } = parseManagedPolicy(raw);
      expect(problems).toEqual([]);
      expect(Object.keys(policy).sort()).toEqual(Object.keys(raw).sort());
    }
    // The full example uses every key.
    expect(Object.keys(chrome[0]).sort()).toEqual([...POLICY_KEYS].sort());
  });
});

describe('parseManagedPolicy', () => {
  it('treats a missing policy as empty', () => {
    expect(parseManagedPolicy(undefined)).toEqual({ policy: {}, problems: [] });
    expect(parseManagedPolicy(null)).toEqual({ policy: {}, problems: [] });
    expect(parseManagedPolicy({})).toEqual({ policy: {}, problems: [] });
  });

  it('reads a full, valid policy', () => {
    const raw = {
      provider: 'together',
      baseUrl: 'https://gateway.example.org/v1/',
      apiKey: ' sk-org-123 ',
      model: 'meta-llama/Llama-Guard-4-12B',
      guardModel: 'llama-guard-4-12b',
      requestMode: 'raw',
      promptGuard: 'warn',
      failMode: 'closed',
      excludedSites: ['*.bank.example', 'HR.example.org'],
      categoryActions: { S1: 'hide', s12: 'label' },
      lockSettings: true,
    };
    const { policy, problems } = parseManagedPolicy(raw);
    expect(problems).toEqual([]);
    expect(policy).toEqual({
      ...raw,
      baseUrl: 'https://gateway.example.org/v1',
      apiKey: 'sk-org-123',
      excludedSites: ['*.bank.example', 'hr.example.org'],
      categoryActions: { S1: 'hide', S12: 'label' },
    });
  });

  it('drops bad values with a message each and keeps the rest', () => {
    const { policy, problems } = parseManagedPolicy({
      provider: 'acme',
      baseUrl: 'http://gateway.example.org/v1',
      apiKey: 'has space',
      model: '',
      guardModel: 5,
      requestMode: 'chat',
      failMode: 'closed',
      excludedSites: ['ok.example', 'not a host'],
      categoryActions: 'hide',
      lockSettings: 'yes',
      scanImages: false,
    });
    expect(policy).toEqual({ requestMode: 'chat', failMode: 'closed', excludedSites: ['ok.example'] });
    expect(problems).toHaveLength(9);
    const text = problems.join('\n');
    expect(text).toMatch(/Policy "provider" must be one of .*\(got "acme"\); it was ignored/);
    expect(text).toMatch(/Policy "baseUrl" is not usable: .*https/);
    expect(text).toMatch(/Policy "apiKey" was ignored/);
    expect(text).not.toContain('has space');
    expect(text).toMatch(/Policy "model" is empty/);
    expect(text).toMatch(/"not a host".*dropped from "excludedSites"/);
    expect(text).toMatch(/Policy "lockSettings" must be true or false/);
    expect(text).toMatch(/key "scanImages" is not one Guardlens knows/);
  });

  it('rejects a policy that is not an object', () => {
    for (const raw of ['x', 3, [1]]) {
      const { policy, problems } = parseManagedPolicy(raw);
      expect(policy).toEqual({});
      expect(problems).toHaveLength(1);
    }
  });

  it('drops raw mode for a policy provider that has no raw prompts, and notes a custom provider without URL', () => {
    expect(parseManagedPolicy({ provider: 'groq', requestMode: 'raw' })).toEqual({
      policy: { provider: 'groq' },
      problems: [expect.stringMatching(/Groq does not take raw prompts/)],
    });
    expect(parseManagedPolicy({ provider: 'custom' }).problems).toEqual([
      expect.stringMatching(/"custom" without a "baseUrl"/),
    ]);
  });

  it('never throws (property)', () => {
    const value = fc.oneof(fc.anything(), fc.constantFrom('groq', 'raw', 'closed', true));
    fc.assert(
      fc.property(
        fc.oneof(fc.anything(), fc.dictionary(fc.constantFrom(...POLICY_KEYS, 'x'), value)),
        (raw) => {
          const { policy, problems } = parseManagedPolicy(raw);
          expect(Array.isArray(problems)).toBe(true);
          // Whatever is kept is valid: applying it to valid settings gives valid settings.
          const { settings } = applyPolicy(defaultSettings(), '', policy);
          expect(normalizeSettings(settings).problems).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('applyPolicy', () => {
  const local = {
    ...defaultSettings(),
    excludedSites: ['mine.example'],
    categoryActions: { S2: 'label' as const },
    concurrency: 2,
  };

  it('changes nothing with an empty policy', () => {
    const result = applyPolicy(local, 'sk-mine', {});
    expect(result.settings).toEqual(local);
    expect(result.apiKey).toBe('sk-mine');
    expect(result.managedKeys.size).toBe(0);
    expect(result.locked.size).toBe(0);
  });

  it('overrides local values with managed ones and reports them, unlocked', () => {
    const policy: ManagedPolicy = {
      failMode: 'closed',
      excludedSites: ['*.bank.example'],
      categoryActions: { S1: 'hide' },
      apiKey: 'sk-org',
    };
    const result = applyPolicy(local, 'sk-mine', policy);
    expect(result.settings).toEqual({
      ...local,
      failMode: 'closed',
      excludedSites: ['*.bank.example'],
      categoryActions: { S1: 'hide' },
    });
    expect(result.apiKey).toBe('sk-org');
    expect([...result.managedKeys].sort()).toEqual([
      'apiKey',
      'categoryActions',
      'excludedSites',
      'failMode',
    ]);
    expect(result.locked.size).toBe(0);
  });

  it('locks every key the policy set with lockSettings', () => {
    const result = applyPolicy(local, '', { promptGuard: 'off', apiKey: 'sk-org', lockSettings: true });
    expect([...result.locked].sort()).toEqual(['apiKey', 'promptGuard']);
    expect(result.locked).toEqual(result.managedKeys);
    expect(POLICY_LOCK_REASON).toBe("Set by your organisation's policy");
  });

  it("gives a policy provider without baseUrl the preset's URL and model, and manages the URL", () => {
    const result = applyPolicy(local, '', { provider: 'groq', lockSettings: true });
    expect(result.settings.provider).toBe('groq');
    expect(result.settings.baseUrl).toBe(getPreset('groq').baseUrl);
    expect(result.settings.model).toBe(getPreset('groq').models['llama-guard-4-12b']);
    expect([...result.locked].sort()).toEqual(['baseUrl', 'provider']);
  });

  it('uses a policy baseUrl at once', () => {
    const result = applyPolicy(local, '', {
      provider: 'custom',
      baseUrl: 'https://gw.example.org/v1',
      model: 'lg',
    });
    expect(result.settings).toMatchObject({
      provider: 'custom',
      baseUrl: 'https://gw.example.org/v1',
      model: 'lg',
    });
    expect(result.managedKeys).toEqual(new Set(['provider', 'baseUrl', 'model']));
  });

  it('follows a policy generation with the model id of the provider in use', () => {
    const result = applyPolicy(local, '', { guardModel: 'llama-guard-3-8b' });
    expect(result.settings.model).toBe(getPreset('openrouter').models['llama-guard-3-8b']);
    expect(result.managedKeys).toEqual(new Set(['guardModel']));
  });

  it('keeps valid settings when a policy raw mode meets a local chat-only provider', () => {
    const groq = normalizeSettings({ provider: 'groq' }).settings;
    const result = applyPolicy(groq, '', { requestMode: 'raw' });
    expect(result.settings.requestMode).toBe('chat');
  });

  it('does not change its inputs', () => {
    const before = structuredClone(local);
    const policy: ManagedPolicy = { excludedSites: ['a.example'], categoryActions: { S1: 'hide' } };
    const result = applyPolicy(local, '', policy);
    result.settings.excludedSites.push('b.example');
    expect(local).toEqual(before);
    expect(policy.excludedSites).toEqual(['a.example']);
  });
});

describe('pickPolicy', () => {
  it('keeps only the named keys that are set', () => {
    expect(pickPolicy({ failMode: 'closed', promptGuard: 'warn' }, ['failMode', 'model'])).toEqual({
      failMode: 'closed',
    });
  });
});
