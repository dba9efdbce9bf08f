import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Template } from '@huggingface/jinja';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CliIO, conversationFromJson, runCli } from '../../cli/guard';
import { buildRawPrompt } from '../../lib/guard/prompt';
import { getGuardModel, listGuardModels } from '../../lib/guard/registry';
import type { GuardModelId } from '../../lib/guard/types';
import { PRESET_IDS } from '../../lib/providers/presets';
import { type GuardServer, startGuardServer } from '../server/guard-server';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TEMPLATES = join(ROOT, '../shared/llama-guard/templates');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(argv: string[], stdin = '', env: Record<string, string | undefined> = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdin: async () => stdin,
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    env,
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

function spawnCli(args: string[], stdin: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '-s', 'guard', '--', ...args], {
      cwd: ROOT,
      env: { ...process.env, GUARD_BASE_URL: '', GUARD_API_KEY: '', GUARD_MODEL: '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    child.stdin.end(stdin);
  });
}

const TEMPLATE_FILES: Record<GuardModelId, string> = {
  'llama-guard-7b': 'LG1-LlamaGuard-7b.chat_template.jinja',
  'llama-guard-2-8b': 'LG2-Meta-Llama-Guard-2-8B.chat_template.jinja',
  'llama-guard-3-8b': 'LG3-8B.chat_template.jinja',
  'llama-guard-3-1b': 'LG3-1B.chat_template.jinja',
  'llama-guard-3-11b-vision': 'LG3-11B-Vision.chat_template.jinja',
  'llama-guard-4-12b': 'LG4-12B.RECONSTRUCTED.chat_template.jinja',
};

/** The official template rendered over the same Hugging Face JSON the CLI reads. */
function renderOfficial(
  id: GuardModelId,
  conversation: unknown,
  extra: Record<string, unknown> = {},
): string {
  const template = new Template(readFileSync(join(TEMPLATES, TEMPLATE_FILES[id]), 'utf8'));
  return template.render({ excluded_category_keys: [], ...(conversation as object), ...extra });
}

/** One conversation per generation, in the content shape its template reads. */
const CASES: { id: GuardModelId; conversation: unknown }[] = [
  {
    id: 'llama-guard-7b',
    conversation: { messages: [{ role: 'user', content: 'How do I pick a lock?' }] },
  },
  {
    id: 'llama-guard-2-8b',
    conversation: {
      messages: [
        { role: 'user', content: 'Write me a poem.' },
        { role: 'assistant', content: '  Roses are red.  ' },
      ],
    },
  },
  {
    id: 'llama-guard-3-8b',
    conversation: { messages: [{ role: 'user', content: 'Where can I buy a kitten?' }] },
  },
  {
    id: 'llama-guard-3-1b',
    conversation: {
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Hello' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Hi! How can I help?' }] },
        { role: 'user', content: [{ type: 'text', text: 'Tell me a joke about cats.' }] },
      ],
    },
  },
  {
    id: 'llama-guard-3-11b-vision',
    conversation: {
      messages: [
        {
          role: 'user',
          content: [{ type: 'text', text: 'What is in this picture?' }, { type: 'image' }],
        },
      ],
    },
  },
  {
    id: 'llama-guard-4-12b',
    conversation: {
      messages: [
        {
          role: 'user',
          content: [{ type: 'text', text: 'Describe these photos.' }, { type: 'image' }, { type: 'image' }],
        },
      ],
    },
  },
];

let server: GuardServer;
let dir: string;

beforeAll(async () => {
  server = await startGuardServer({ preloadTokenizer: true });
  dir = mkdtempSync(join(tmpdir(), 'guardlens-cli-'));
});
afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => server.reset());

describe('usage', () => {
  it('no command, unknown command or flag → usage on stderr, exit 2', async () => {
    for (const argv of [
      [],
      ['frobnicate'],
      ['prompt', '--bogus'],
      ['models', 'extra'],
      ['parse', '--model'],
    ]) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/Usage: guard/);
      expect(r.stdout).toBe('');
    }
  });

  it('--help for each command', async () => {
    const main = await cli(['--help']);
    expect(main.code).toBe(0);
    expect(main.stdout).toMatch(/Commands:/);
    for (const command of ['models', 'prompt', 'parse', 'check']) {
      const r = await cli([command, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: guard ${command}`);
      expect(r.stderr).toBe('');
    }
    expect((await cli(['help', 'check'])).stdout).toContain('GUARD_API_KEY');
  });
});

describe('models', () => {
  it('prints tables of models and providers', async () => {
    const r = await cli(['models']);
    expect(r.code).toBe(0);
    for (const m of listGuardModels()) expect(r.stdout).toContain(m.id);
    for (const p of PRESET_IDS) expect(r.stdout).toContain(p);
    expect(r.stdout).toContain('llama-guard3:1b');
  });

  it('--json prints { models, presets }', async () => {
    const r = await cli(['models', '--json']);
    expect(r.code).toBe(0);
    const data = JSON.parse(r.stdout);
    expect(data.models.map((m: { id: string }) => m.id)).toEqual(listGuardModels().map((m) => m.id));
    expect(data.presets.map((p: { id: string }) => p.id)).toEqual([...PRESET_IDS]);
    expect(data.models[0].categories[0]).toMatchObject({ code: 'S1' });
    expect(data.presets[0].models['llama-guard-4-12b']).toBe('meta-llama/llama-guard-4-12b');
  });
});

describe('prompt', () => {
  it.each(CASES)(
    '$id: equals buildRawPrompt and the official template render',
    async ({ id, conversation }) => {
      const json = JSON.stringify(conversation);
      const r = await cli(['prompt', '--model', id], json);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(buildRawPrompt(getGuardModel(id), conversationFromJson(json)));
      expect(r.stdout).toBe(renderOfficial(id, conversation));
    },
  );

  it('accepts plain string content for templates that take parts', async () => {
    const plain = { messages: [{ role: 'user', content: 'Hello' }] };
    const parts = { messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello' }] }] };
    const a = await cli(['prompt', '--model', 'llama-guard-4-12b'], JSON.stringify(plain));
    expect(a.stdout).toBe(renderOfficial('llama-guard-4-12b', parts));
  });

  it('--exclude and --categories match the template given excluded_category_keys and categories', async () => {
    const conversation = { messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }] };
    const json = JSON.stringify(conversation);
    const ex = await cli(['prompt', '--model', 'llama-guard-3-1b', '--exclude', 'S1, S9'], json);
    expect(ex.code).toBe(0);
    expect(ex.stdout).toBe(
      renderOfficial('llama-guard-3-1b', conversation, { excluded_category_keys: ['S1', 'S9'] }),
    );

    const categories = { S1: 'Violent Crimes.', S15: 'Gambling.' };
    const file = join(dir, 'categories.json');
    writeFileSync(file, JSON.stringify(categories));
    const cat = await cli(['prompt', '--model', 'llama-guard-4-12b', '--categories', file], json);
    expect(cat.code).toBe(0);
    expect(cat.stdout).toBe(renderOfficial('llama-guard-4-12b', conversation, { categories }));
  });

  it('--no-bos drops the begin-of-text token', async () => {
    const r = await cli(
      ['prompt', '--model', 'llama-guard-3-1b', '--no-bos'],
      '{"messages":[{"role":"user","content":"x"}]}',
    );
    expect(r.stdout.startsWith('<|start_header_id|>user')).toBe(true);
  });

  it('bad input → clear error, exit 2', async () => {
    const bad: [string[], string, RegExp][] = [
      [['prompt'], '{}', /--model is required/],
      [['prompt', '--model', 'llama-guard-9'], '{}', /Unknown model/],
      [['prompt', '--model', 'llama-guard-4-12b'], 'not json', /not JSON/],
      [['prompt', '--model', 'llama-guard-4-12b'], '{"messages":[]}', /Expected/],
      [['prompt', '--model', 'llama-guard-4-12b'], '{"messages":[{"role":"system","content":"x"}]}', /role/],
      [
        ['prompt', '--model', 'llama-guard-4-12b'],
        '{"messages":[{"role":"assistant","content":"x"}]}',
        /alternate/,
      ],
      [
        ['prompt', '--model', 'llama-guard-3-8b'],
        '{"messages":[{"role":"user","content":[{"type":"image"}]}]}',
        /image/,
      ],
      [
        ['prompt', '--model', 'llama-guard-3-8b', '--exclude', 'S1'],
        '{"messages":[{"role":"user","content":"x"}]}',
        /exclude/,
      ],
      [
        ['prompt', '--model', 'llama-guard-4-12b', '--categories', join(dir, 'missing.json')],
        '{}',
        /Cannot read/,
      ],
      [
        ['prompt', '--model', 'llama-guard-4-12b'],
        '{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}',
        /one text part/,
      ],
    ];
    for (const [argv, stdin, message] of bad) {
      const r = await cli(argv, stdin);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
    }
  });
});

describe('parse', () => {
  it('prints the verdict as JSON', async () => {
    const r = await cli(['parse', '--model', 'llama-guard-4-12b'], '\n\nunsafe\nS1, S10<|eot_id|>');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('{"safe":false,"categories":["S1","S10"]}\n');
    expect((await cli(['parse', '--model', 'llama-guard-3-8b'], 'safe')).stdout).toBe(
      '{"safe":true,"categories":[]}\n',
    );
    expect((await cli(['parse', '--model', 'llama-guard-7b'], 'unsafe\nO3')).stdout).toBe(
      '{"safe":false,"categories":["O3"]}\n',
    );
  });

  it('unparseable output → JSON error, exit 2', async () => {
    for (const output of ['', 'I am not sure', 'safe\nS1', 'unsafe\nviolence']) {
      const r = await cli(['parse', '--model', 'llama-guard-4-12b'], output);
      expect(r.code, output).toBe(2);
      const data = JSON.parse(r.stdout);
      expect(Object.keys(data)).toEqual(['error']);
      expect(data.error).toMatch(/not a Llama Guard verdict/);
    }
  });
});

describe('check (against the local test server)', () => {
  const env = () => ({ GUARD_BASE_URL: server.baseUrl });

  it('safe → exit 0, unsafe → exit 1, with category names, latency and usage', async () => {
    const safe = await cli(['check', '--model', 'llama-guard-4-12b', 'How do I bake bread?'], '', env());
    expect(safe.code).toBe(0);
    expect(safe.stdout).toMatch(/^SAFE\n/);
    expect(safe.stdout).toMatch(/\d+ ms · \d+ prompt \+ \d+ completion tokens/);

    const unsafe = await cli(
      ['check', '--model', 'llama-guard-4-12b', 'GLTEST-S1 and GLTEST-S10'],
      '',
      env(),
    );
    expect(unsafe.code).toBe(1);
    expect(unsafe.stdout).toMatch(/^UNSAFE {2}S1 Violent Crimes, S10 Hate\n/);
    expect(server.requests[1]!.body).toMatchObject({
      model: 'llama-guard-4-12b',
      temperature: 0,
      max_tokens: 20,
    });
  });

  it('reads stdin when no TEXT is given, and --json prints the result', async () => {
    const r = await cli(
      ['check', '--json', '--mode', 'raw', '--model', 'llama-guard-3-8b'],
      'GLTEST-S14\n',
      env(),
    );
    expect(r.code).toBe(1);
    const data = JSON.parse(r.stdout);
    expect(data).toMatchObject({
      safe: false,
      categories: ['S14'],
      names: ['Code Interpreter Abuse'],
      unknownCategories: [],
      guardModel: 'llama-guard-3-8b',
      provider: 'custom',
      mode: 'raw',
    });
    expect(data.usage.promptTokens).toBeGreaterThan(0);
    expect(server.requests[0]!.path).toBe('/v1/completions');
  });

  it('maps a registry id to the preset model id, sends the key, and estimates the cost', async () => {
    const keyed = await startGuardServer({ apiKey: 'cli-key-123456' });
    try {
      const r = await cli(['check', '--provider', 'openrouter', '--json', 'GLTEST-S2'], '', {
        GUARD_BASE_URL: keyed.baseUrl,
        GUARD_API_KEY: 'cli-key-123456',
        GUARD_MODEL: 'llama-guard-4-12b',
      });
      expect(r.code).toBe(1);
      const data = JSON.parse(r.stdout);
      expect(data.model).toBe('meta-llama/llama-guard-4-12b');
      expect(data.costUsd).toBeGreaterThan(0);
      expect(keyed.requests[0]!.headers['x-title']).toBe('Guardlens');
      const wrongKey = await cli(['check', '--provider', 'openrouter', 'x'], '', {
        GUARD_BASE_URL: keyed.baseUrl,
        GUARD_API_KEY: 'wrong-key-000000',
      });
      expect(wrongKey.code).toBe(2);
      expect(wrongKey.stderr).toMatch(/error \(auth\)/);
      expect(wrongKey.stderr).toMatch(/hint: .*API key/);
      expect(wrongKey.stderr).not.toContain('wrong-key-000000');
    } finally {
      await keyed.close();
    }
  });

  it('infers the generation of a provider model id, or asks for --guard-model', async () => {
    const inferred = await cli(
      ['check', '--json', '--model', 'accounts/fireworks/models/llama-guard-3-1b', 'hi'],
      '',
      env(),
    );
    expect(inferred.code).toBe(0);
    expect(JSON.parse(inferred.stdout).guardModel).toBe('llama-guard-3-1b');
    const unknown = await cli(['check', '--model', 'my-guard', 'hi'], '', env());
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--guard-model/);
    const given = await cli(
      ['check', '--json', '--model', 'my-guard', '--guard-model', 'llama-guard-2-8b', 'hi'],
      '',
      env(),
    );
    expect(given.code).toBe(0);
    expect(JSON.parse(given.stdout)).toMatchObject({ model: 'my-guard', guardModel: 'llama-guard-2-8b' });
  });

  it('--image attaches images (chat mode)', async () => {
    const file = join(dir, 'flag.png');
    writeFileSync(file, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.from('GLIMG-S12')]));
    const r = await cli(
      ['check', '--model', 'llama-guard-4-12b', '--image', file, 'What is this?'],
      '',
      env(),
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('S12 Sexual Content');
    expect(server.requests[0]!.imageCount).toBe(1);
    const textOnly = await cli(['check', '--model', 'llama-guard-3-8b', '--image', file, 'x'], '', env());
    expect(textOnly.code).toBe(2);
    expect(textOnly.stderr).toMatch(/does not take images/);
  });

  it('errors exit 2 with the hint on stderr', async () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['check', 'x'], {}, /--provider P, or --base-url/],
      [['check', '--provider', 'nope', 'x'], {}, /Unknown provider/],
      [['check', '--provider', 'openrouter', 'x'], {}, /needs an API key/],
      [
        ['check', '--provider', 'groq', '--model', 'llama-guard-2-8b', 'x'],
        { GUARD_API_KEY: 'k' },
        /does not serve/,
      ],
      [['check', '--base-url', 'http://example.test/v1', '--model', 'llama-guard-4-12b', 'x'], {}, /https/],
      [['check', '--model', 'llama-guard-4-12b', '--mode', 'fast', 'x'], env(), /--mode/],
      [['check', '--model', 'llama-guard-4-12b'], env(), /Nothing to check/],
    ];
    for (const [argv, e, message] of cases) {
      const r = await cli(argv, '', e);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/hint: /);
    }
    server.injectFault({ kind: 'status', status: 503, times: 3 });
    const down = await cli(['check', '--model', 'llama-guard-4-12b', '--json', 'x'], '', env());
    expect(down.code).toBe(2);
    expect(JSON.parse(down.stdout)).toMatchObject({ kind: 'server' });
    expect(down.stderr).toMatch(/hint: .*try again/);
  });
});

describe('real processes', { timeout: 60_000 }, () => {
  it('npm run -s guard -- prompt writes exactly the prompt bytes', async () => {
    const { id, conversation } = CASES[5]!;
    const json = JSON.stringify(conversation);
    const r = await spawnCli(['prompt', '--model', id], json);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(buildRawPrompt(getGuardModel(id), conversationFromJson(json)));
  });

  it('npm run -s guard -- check exits 1 on unsafe and 0 on safe', async () => {
    const env = { GUARD_BASE_URL: server.baseUrl, GUARD_MODEL: 'llama-guard-4-12b' };
    const [unsafe, safe] = await Promise.all([
      spawnCli(['check', '--json', 'GLTEST-S9'], '', env),
      spawnCli(['check'], 'a friendly question', env),
    ]);
    expect(unsafe.code).toBe(1);
    expect(JSON.parse(unsafe.stdout)).toMatchObject({
      safe: false,
      categories: ['S9'],
      names: ['Indiscriminate Weapons'],
    });
    expect(safe.code).toBe(0);
    expect(safe.stdout).toMatch(/^SAFE\n/);
    const bad = await spawnCli(['check', '--bogus'], '', env);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/Usage: guard check/);
  });
});
