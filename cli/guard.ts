/**
 * `guard`: the Guardlens command line for its Llama Guard core.
 *
 *   npm run -s guard -- models [--json]
 *   npm run -s guard -- prompt --model ID [--exclude S1,S9] [--categories FILE.json] [--no-bos] < conversation.json
 *   npm run -s guard -- parse --model ID [--categories FILE.json] < output.txt
 *   npm run -s guard -- check [--provider P] [--model ID] [--mode chat|raw] [--image FILE] [--base-url URL] [TEXT]
 *
 * Other tools depend on the output of these commands: keep it stable.
 */
import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createGuardClient, DEFAULT_TIMEOUT_MS, type EndpointConfig } from '../lib/guard/client';
import { GuardError, toGuardError } from '../lib/guard/errors';
import { parseVerdict } from '../lib/guard/parse';
import { buildRawPrompt } from '../lib/guard/prompt';
import { categoryTable, getGuardModel, isGuardModelId, listGuardModels } from '../lib/guard/registry';
import {
  type ConversationTurn,
  GUARD_MODEL_IDS,
  type GuardModel,
  type GuardModelId,
} from '../lib/guard/types';
import {
  getPreset,
  guardModelForProviderModel,
  isPresetId,
  listPresets,
  PRESET_IDS,
  type PresetId,
  type ProviderPreset,
} from '../lib/providers/presets';

export interface CliIO {
  stdin: () => Promise<string>;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: Record<string, string | undefined>;
}

/** A mistake in how the command was called: usage goes to stderr, exit 2. */
class UsageError extends Error {}

/** Bad input (a file, stdin, an option's value): the message goes to stderr, exit 2. */
class InputError extends Error {}

const MAIN_USAGE = `Usage: guard <command> [options]

Commands:
  models   List the Llama Guard models and provider presets Guardlens knows
  prompt   Print the raw prompt for a conversation (JSON on stdin), as the official template renders it
  parse    Read a model's output on stdin and print the verdict as JSON
  check    Classify text with a Llama Guard endpoint

Run "guard <command> --help" for a command's options.
`;

const USAGE: Record<string, string> = {
  models: `Usage: guard models [--json]

Lists the Llama Guard models (registry ids) and the provider presets with the model ids they serve.
  --json   Print {"models": [...], "presets": [...]} instead of tables
`,
  prompt: `Usage: guard prompt --model ID [--exclude S1,S9] [--categories FILE.json] [--no-bos]

Reads a conversation as JSON on stdin, e.g.
  {"messages":[{"role":"user","content":[{"type":"text","text":"Hi"},{"type":"image"}]}]}
(plain string content is accepted too) and prints the raw prompt exactly as the official template of
the model renders it, begin-of-text token included, with nothing added.
  --model ID             Registry id: ${GUARD_MODEL_IDS.join(', ')}
  --exclude CODES        Comma-separated category codes to leave out (templates that accept it)
  --categories FILE      JSON file with a replacement category table: {"S1": "Violent Crimes.", ...}
  --no-bos               Leave out the begin-of-text token (for servers that add it themselves)
`,
  parse: `Usage: guard parse --model ID [--categories FILE.json]

Reads a model's output on stdin and prints {"safe":false,"categories":["S1","S10"]}.
Output that is not a Llama Guard verdict prints {"error":"..."} and exits 2.
  --model ID             Registry id: ${GUARD_MODEL_IDS.join(', ')}
  --categories FILE      The custom category table the prompt used (its codes count as known)
`,
  check: `Usage: guard check [--provider P] [--model ID] [--mode chat|raw] [--image FILE]... [--base-url URL] [TEXT]

Classifies TEXT (or stdin) as a user message with a Llama Guard endpoint and prints the verdict.
Exit code: 0 safe, 1 unsafe, 2 error.
  --provider P           ${PRESET_IDS.join(', ')} (default: custom when a base URL is given)
  --base-url URL         Endpoint base URL (env GUARD_BASE_URL; default: the provider's)
  --model ID             Registry id (the provider's model id for it is used) or the provider's model id
                         (env GUARD_MODEL; default: the newest generation the provider serves)
  --guard-model ID       The generation of a provider model id Guardlens cannot infer
  --mode chat|raw        Chat completions (default) or the official raw prompt via /completions
  --image FILE           Attach an image (repeatable; Llama Guard 4 and 3 11B Vision, chat mode)
  --exclude CODES        Categories to leave out (raw mode)
  --categories FILE      Replacement category table (raw mode)
  --no-bos               Raw mode: leave out the begin-of-text token
  --timeout MS           Per-attempt timeout (default ${DEFAULT_TIMEOUT_MS})
  --json                 Print JSON
The API key is read from the environment variable GUARD_API_KEY.
`,
};

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

const OPTIONS = {
  models: { json: { type: 'boolean' } },
  prompt: {
    model: { type: 'string' },
    exclude: { type: 'string' },
    categories: { type: 'string' },
    'no-bos': { type: 'boolean' },
  },
  parse: { model: { type: 'string' }, categories: { type: 'string' } },
  check: {
    provider: { type: 'string' },
    'base-url': { type: 'string' },
    model: { type: 'string' },
    'guard-model': { type: 'string' },
    mode: { type: 'string' },
    image: { type: 'string', multiple: true },
    exclude: { type: 'string' },
    categories: { type: 'string' },
    'no-bos': { type: 'boolean' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
  },
} as const;

const POSITIONALS: Record<string, boolean> = { models: false, prompt: false, parse: false, check: true };

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function requireModel(values: Values): GuardModel {
  const id = str(values, 'model');
  if (!id) throw new UsageError('--model is required.');
  if (!isGuardModelId(id))
    throw new InputError(`Unknown model "${id}". Valid ids: ${GUARD_MODEL_IDS.join(', ')}.`);
  return getGuardModel(id);
}

function parseCodes(list: string | undefined): string[] | undefined {
  if (list === undefined) return undefined;
  const codes = list
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  if (codes.length === 0)
    throw new InputError('--exclude needs at least one category code, e.g. --exclude S1,S9.');
  return codes;
}

async function readCategories(file: string | undefined): Promise<Record<string, string> | undefined> {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = await readFile(resolve(process.cwd(), file), 'utf8');
  } catch (err) {
    throw new InputError(`Cannot read the categories file ${file}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InputError(`The categories file ${file} is not JSON: ${(err as Error).message}`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new InputError(`The categories file ${file} must hold an object like {"S1": "Violent Crimes."}.`);
  }
  for (const [code, name] of Object.entries(data)) {
    if (typeof name !== 'string') throw new InputError(`Category ${code} in ${file} must be a string.`);
  }
  return data as Record<string, string>;
}

/** Placeholder URL for `{"type":"image"}` parts: the raw prompt only needs to know an image is there. */
const IMAGE_PLACEHOLDER = 'guardlens:image';

/** Reads a Hugging Face style conversation into turns. */
export function conversationFromJson(text: string): ConversationTurn[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new InputError(`stdin is not JSON: ${(err as Error).message}`);
  }
  const messages = Array.isArray(data) ? data : (data as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new InputError('Expected {"messages": [{"role": "user", "content": ...}, ...]} on stdin.');
  }
  return messages.map((m, i): ConversationTurn => {
    const role = (m as { role?: unknown })?.role;
    if (role !== 'user' && role !== 'assistant') {
      throw new InputError(`Message ${i}: role must be "user" or "assistant", not ${JSON.stringify(role)}.`);
    }
    const content = (m as { content?: unknown }).content;
    if (typeof content === 'string') return { role, text: content };
    if (!Array.isArray(content)) {
      throw new InputError(`Message ${i}: content must be a string or a list of parts.`);
    }
    const texts: string[] = [];
    const images: string[] = [];
    for (const part of content as unknown[]) {
      const p = part as {
        type?: unknown;
        text?: unknown;
        url?: unknown;
        image?: unknown;
        image_url?: unknown;
      };
      if (p?.type === 'text' && typeof p.text === 'string') texts.push(p.text);
      else if (p?.type === 'image') {
        const url =
          typeof p.url === 'string' ? p.url : typeof p.image === 'string' ? p.image : IMAGE_PLACEHOLDER;
        images.push(url || IMAGE_PLACEHOLDER);
      } else if (p?.type === 'image_url') {
        const raw = p.image_url;
        const url = typeof raw === 'string' ? raw : (raw as { url?: unknown } | null)?.url;
        images.push(typeof url === 'string' && url ? url : IMAGE_PLACEHOLDER);
      } else {
        throw new InputError(`Message ${i}: unsupported content part ${JSON.stringify(part)}.`);
      }
    }
    if (texts.length > 1) {
      throw new InputError(
        `Message ${i}: Guardlens takes one text part per message (${texts.length} given).`,
      );
    }
    const turn: ConversationTurn = { role, text: texts[0] ?? '' };
    if (images.length > 0) turn.images = images;
    return turn;
  });
}

function pad(s: string, n: number): string {
  return s.length >= n ? `${s} ` : s + ' '.repeat(n - s.length);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return `${rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : pad(c, widths[i]! + 1)))
        .join('')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

function cmdModels(values: Values, io: CliIO): number {
  const models = listGuardModels();
  const presets = listPresets();
  if (values.json) {
    io.stdout(`${JSON.stringify({ models, presets }, null, 2)}\n`);
    return 0;
  }
  const modelRows = [
    ['ID', 'NAME', 'CATEGORIES', 'IMAGES', 'CONTEXT', 'CUSTOM CATEGORIES'],
    ...models.map((m) => [
      m.id,
      m.label,
      `${m.categories[0]?.code}–${m.categories[m.categories.length - 1]?.code}`,
      String(m.maxImages),
      String(m.contextWindow),
      m.customCategories ? 'yes' : 'no',
    ]),
  ];
  const presetRows = [
    ['PROVIDER', 'NAME', 'BASE URL', 'RAW', 'IMAGES', 'KEY', 'MODELS'],
    ...presets.map((p) => [
      p.id,
      p.label,
      p.baseUrl || '(yours)',
      p.raw ? 'yes' : 'no',
      p.images ? 'yes' : 'no',
      p.keyRequired ? 'yes' : 'no',
      Object.entries(p.models)
        .map(([gid, pid]) => `${gid}=${pid}`)
        .join(', ') || '(any)',
    ]),
  ];
  io.stdout(`Models\n${table(modelRows)}\nProviders\n${table(presetRows)}`);
  return 0;
}

async function cmdPrompt(values: Values, io: CliIO): Promise<number> {
  const model = requireModel(values);
  const excluded = parseCodes(str(values, 'exclude'));
  const categories = await readCategories(str(values, 'categories'));
  const turns = conversationFromJson(await io.stdin());
  const prompt = buildRawPrompt(model, turns, {
    ...(excluded ? { excluded } : {}),
    ...(categories ? { categories } : {}),
    bos: !values['no-bos'],
  });
  io.stdout(prompt);
  return 0;
}

async function cmdParse(values: Values, io: CliIO): Promise<number> {
  const model = requireModel(values);
  const custom = await readCategories(str(values, 'categories'));
  const output = await io.stdin();
  try {
    const v = parseVerdict(output, model, custom ? { custom } : {});
    io.stdout(`${JSON.stringify({ safe: v.safe, categories: v.categories })}\n`);
    return 0;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.stdout(`${JSON.stringify({ error: message })}\n`);
    return 2;
  }
}

const IMAGE_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
};

async function imageDataUrl(file: string): Promise<string> {
  const type = IMAGE_TYPES[extname(file).toLowerCase()];
  if (!type) throw new InputError(`--image ${file}: use a .png, .jpg, .gif or .webp file.`);
  let bytes: Buffer;
  try {
    bytes = await readFile(resolve(process.cwd(), file));
  } catch (err) {
    throw new InputError(`Cannot read the image ${file}: ${(err as Error).message}`);
  }
  return `data:${type};base64,${bytes.toString('base64')}`;
}

interface ResolvedEndpoint {
  preset: ProviderPreset;
  providerModel: string;
  guardModel: GuardModelId;
  baseUrl: string;
}

/** Works out provider, base URL, provider model id and generation from flags and environment. */
export function resolveEndpoint(values: Values, env: CliIO['env']): ResolvedEndpoint {
  const providerFlag = str(values, 'provider');
  const baseUrlIn = str(values, 'base-url') ?? (env.GUARD_BASE_URL || undefined);
  if (providerFlag !== undefined && !isPresetId(providerFlag)) {
    throw new InputError(`Unknown provider "${providerFlag}". Known: ${PRESET_IDS.join(', ')}.`);
  }
  const presetId: PresetId | undefined = providerFlag ?? (baseUrlIn ? 'custom' : undefined);
  if (!presetId) {
    throw new InputError('Say which endpoint to use: --provider P, or --base-url URL (or GUARD_BASE_URL).');
  }
  const preset = getPreset(presetId);
  const baseUrl = baseUrlIn ?? preset.baseUrl;
  if (!baseUrl) throw new InputError('The custom provider needs --base-url URL (or GUARD_BASE_URL).');

  const guardFlag = str(values, 'guard-model');
  if (guardFlag !== undefined && !isGuardModelId(guardFlag)) {
    throw new InputError(`Unknown --guard-model "${guardFlag}". Valid ids: ${GUARD_MODEL_IDS.join(', ')}.`);
  }
  const modelIn = str(values, 'model') ?? (env.GUARD_MODEL || undefined);
  const served = Object.entries(preset.models) as [GuardModelId, string][];

  if (modelIn === undefined) {
    const gid = guardFlag ?? GUARD_MODEL_IDS.find((id) => preset.models[id]);
    const pid = gid ? preset.models[gid] : undefined;
    if (!gid || !pid) {
      throw new InputError(`Say which model to use: --model ID (or GUARD_MODEL) for ${preset.label}.`);
    }
    return { preset, providerModel: pid, guardModel: gid, baseUrl };
  }
  if (isGuardModelId(modelIn)) {
    const pid = preset.models[modelIn];
    if (pid) return { preset, providerModel: pid, guardModel: modelIn, baseUrl };
    if (preset.id === 'custom') return { preset, providerModel: modelIn, guardModel: modelIn, baseUrl };
    throw new InputError(
      `${preset.label} does not serve ${modelIn}. It serves: ${served.map(([g]) => g).join(', ') || 'nothing known'}.`,
    );
  }
  const gid =
    guardFlag ?? guardModelForProviderModel(modelIn, preset.id) ?? guardModelForProviderModel(modelIn);
  if (!gid) {
    throw new InputError(
      `Cannot tell which Llama Guard generation "${modelIn}" is; add --guard-model ID (${GUARD_MODEL_IDS.join(', ')}).`,
    );
  }
  return { preset, providerModel: modelIn, guardModel: gid, baseUrl };
}

function categoryNames(
  model: GuardModel,
  codes: string[],
  custom: Record<string, string> | undefined,
): string[] {
  const tables = [
    ...(custom ? categoryTable(model, { custom }) : []),
    ...model.categories,
    ...(model.imageCategories ?? []),
  ];
  return codes.map(
    (code) => tables.find((c) => c.code.toUpperCase() === code.toUpperCase())?.name ?? 'unknown category',
  );
}

function formatUsd(x: number): string {
  return x === 0 ? '$0' : `$${x < 0.01 ? x.toPrecision(2) : x.toFixed(4)}`;
}

async function cmdCheck(values: Values, positionals: string[], io: CliIO): Promise<number> {
  const json = !!values.json;
  try {
    const endpoint = resolveEndpoint(values, io.env);
    const modeIn = str(values, 'mode');
    if (modeIn !== undefined && modeIn !== 'chat' && modeIn !== 'raw') {
      throw new InputError(`--mode must be chat or raw, not "${modeIn}".`);
    }
    const excluded = parseCodes(str(values, 'exclude'));
    const categories = await readCategories(str(values, 'categories'));
    const mode = modeIn ?? (excluded || categories ? 'raw' : 'chat');
    const timeoutText = str(values, 'timeout');
    const timeoutMs = timeoutText === undefined ? undefined : Number(timeoutText);
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs >= 1)) {
      throw new InputError(`--timeout must be a number of milliseconds, not "${timeoutText}".`);
    }
    const imageFiles = ((values.image as string[] | undefined) ?? []).filter((f) => typeof f === 'string');
    const images = await Promise.all(imageFiles.map(imageDataUrl));
    const text = positionals.length > 0 ? positionals.join(' ') : await io.stdin();
    if (text.trim() === '' && images.length === 0)
      throw new InputError('Nothing to check: give TEXT or pipe it on stdin.');

    const apiKey = io.env.GUARD_API_KEY || undefined;
    const config: EndpointConfig = {
      baseUrl: endpoint.baseUrl,
      model: endpoint.providerModel,
      guardModel: endpoint.guardModel,
      mode,
      presetId: endpoint.preset.id,
      ...(apiKey ? { apiKey } : {}),
      ...(values['no-bos'] ? { sendBos: false } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(excluded || categories
        ? { prompt: { ...(excluded ? { excluded } : {}), ...(categories ? { categories } : {}) } }
        : {}),
    };
    const client = createGuardClient(config);
    const turn: ConversationTurn =
      images.length > 0 ? { role: 'user', text, images } : { role: 'user', text };
    const r = await client.classify([turn]);
    const model = getGuardModel(endpoint.guardModel);
    const names = categoryNames(model, r.verdict.categories, categories);
    if (json) {
      io.stdout(
        `${JSON.stringify({
          safe: r.verdict.safe,
          categories: r.verdict.categories,
          names,
          unknownCategories: r.verdict.unknownCategories,
          output: r.output,
          latencyMs: r.latencyMs,
          usage: r.usage,
          ...(r.costUsd !== undefined ? { costUsd: r.costUsd } : {}),
          model: r.model,
          guardModel: model.id,
          provider: endpoint.preset.id,
          mode: r.mode,
        })}\n`,
      );
    } else {
      const verdict = r.verdict.safe
        ? 'SAFE'
        : `UNSAFE${
            r.verdict.categories.length
              ? `  ${r.verdict.categories.map((c, i) => `${c} ${names[i]}`).join(', ')}`
              : '  (no category given)'
          }`;
      const cost = r.costUsd !== undefined ? ` · ${formatUsd(r.costUsd)}` : '';
      io.stdout(
        `${verdict}\n` +
          `${model.label} (${r.model}) via ${endpoint.preset.id === 'custom' ? endpoint.baseUrl : endpoint.preset.label}, ${r.mode} mode\n` +
          `${r.latencyMs} ms · ${r.usage.promptTokens} prompt + ${r.usage.completionTokens} completion tokens${cost}\n`,
      );
    }
    return r.verdict.safe ? 0 : 1;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const e =
      err instanceof InputError
        ? new GuardError('config', err.message, { hint: `See "guard check --help".` })
        : err instanceof GuardError
          ? err
          : toGuardError(err, { baseUrl: '', model: '' });
    if (json) io.stdout(`${JSON.stringify({ error: e.message, kind: e.kind, hint: e.hint })}\n`);
    io.stderr(`error (${e.kind}): ${e.message}\nhint: ${e.hint}\n`);
    return 2;
  }
}

/** Runs the CLI; resolves with the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    io.stderr(MAIN_USAGE);
    return 2;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    const topic = rest[0];
    if (topic && USAGE[topic]) io.stdout(USAGE[topic]);
    else io.stdout(MAIN_USAGE);
    return 0;
  }
  const options = (OPTIONS as Record<string, object>)[command];
  const usage = USAGE[command];
  if (!options || !usage) {
    io.stderr(`Unknown command "${command}".\n\n${MAIN_USAGE}`);
    return 2;
  }
  let values: Values;
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args: rest,
      options: {
        ...(options as Record<string, { type: 'string' | 'boolean' }>),
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: POSITIONALS[command] ?? false,
      strict: true,
    });
    values = parsed.values as Values;
    positionals = parsed.positionals;
  } catch (err) {
    io.stderr(`${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    io.stdout(usage);
    return 0;
  }
  try {
    switch (command) {
      case 'models':
        return cmdModels(values, io);
      case 'prompt':
        return await cmdPrompt(values, io);
      case 'parse':
        return await cmdParse(values, io);
      default:
        return await cmdCheck(values, positionals, io);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`${err.message}\n\n${usage}`);
      return 2;
    }
    io.stderr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<void> {
  const code = await runCli(process.argv.slice(2), {
    stdin: readStdin,
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    env: process.env,
  });
  process.exitCode = code;
}

const invoked = process.argv[1];
if (invoked && import.meta.url === pathToFileURL(resolve(invoked)).href) {
  void main();
}
