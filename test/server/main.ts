/**
 * Runs the Guardlens test Llama Guard server by hand or for benchmarks:
 *
 *   npx tsx test/server/main.ts [--port N] [--latency MS] [--api-key KEY] [--models a,b]
 *                               [--quirky] [--refuse-extension-origins] [--quiet]
 *
 * Prints the base URL (`http://127.0.0.1:<port>/v1`) on the first line of stdout, then one line
 * per finished request on stderr (unless --quiet). Ctrl-C stops it.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { type GuardServerOptions, type RecordedRequest, startGuardServer } from './guard-server';

const USAGE = `Usage: npx tsx test/server/main.ts [options]
  --port N                    listen on port N (default: a free port)
  --latency MS                wait MS milliseconds before each answer (default 0)
  --api-key KEY               require "Authorization: Bearer KEY"
  --models a,b                accept only these model ids (default: any)
  --quirky                    answer like some providers do: "\\n\\nunsafe\\nS1, S2<|eot_id|>"
  --refuse-extension-origins  answer 403 to extension origins, as Ollama does by default
  --quiet                     do not log requests
Trigger phrases: GLTEST-S1 … GLTEST-S14, GLTEST-O1 … GLTEST-O6 in the classified turn;
image markers: GLIMG-S1 … in the bytes of a data: URL image.`;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface LauncherArgs {
  options: GuardServerOptions;
  quiet: boolean;
  help: boolean;
}

function wholeNumber(flag: string, value: string | undefined, max: number): number {
  if (value === undefined || !/^[0-9]+$/.test(value) || Number(value) > max) {
    throw new UsageError(`${flag} needs a whole number from 0 to ${max} (got ${value ?? 'nothing'}).`);
  }
  return Number(value);
}

function text(flag: string, value: string | undefined): string {
  if (value === undefined || value === '' || value.startsWith('--'))
    throw new UsageError(`${flag} needs a value.`);
  return value;
}

/** Reads the command line; throws UsageError on anything it does not understand. */
export function parseLauncherArgs(argv: readonly string[]): LauncherArgs {
  const options: GuardServerOptions = { preloadTokenizer: true, maxRecorded: 1000 };
  let quiet = false;
  let help = false;
  for (let i = 0; i < argv.length; i += 1) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--port':
        options.port = wholeNumber(flag, value(), 65535);
        break;
      case '--latency':
        options.latencyMs = wholeNumber(flag, value(), 3_600_000);
        break;
      case '--api-key':
        options.apiKey = text(flag, value());
        break;
      case '--models':
        options.models = text(flag, value())
          .split(',')
          .map((id) => id.trim())
          .filter((id) => id !== '');
        break;
      case '--quirky':
        options.outputStyle = 'quirky';
        break;
      case '--refuse-extension-origins':
        options.refuseExtensionOrigins = true;
        break;
      case '--quiet':
        quiet = true;
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      default:
        throw new UsageError(`Unknown option: ${argv[i]}`);
    }
  }
  return { options, quiet, help };
}

function describe(request: RecordedRequest): string {
  const parts = [`#${request.id}`, request.method, request.path, String(request.status ?? '-')];
  if (request.fault) parts.push(`fault=${request.fault}`);
  if (request.role) parts.push(`${request.mode}/${request.role}`);
  if (request.output !== undefined) parts.push(JSON.stringify(request.output));
  const took = request.answeredAt !== undefined ? request.answeredAt - request.receivedAt : undefined;
  if (took !== undefined) parts.push(`${took}ms`);
  return parts.join(' ');
}

async function main(): Promise<void> {
  let args: LauncherArgs;
  try {
    args = parseLauncherArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const server = await startGuardServer({
    ...args.options,
    onFinished: args.quiet ? undefined : (request) => process.stderr.write(`${describe(request)}\n`),
  });
  process.stdout.write(`${server.baseUrl}\n`);
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(realpathSync(entry)).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
