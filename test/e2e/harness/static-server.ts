/**
 * A local static server for test pages: serves `test/e2e/pages/` (or another root) and any routes a test
 * registers, on 127.0.0.1 at a random port. Loopback, so the browsers reach it directly, past the network
 * blocker.
 *
 * ```ts
 * const site = await startStaticServer();
 * site.url('/smoke.html');                                   // a file under test/e2e/pages/
 * site.mount('/corpus/', '../shared/corpus/pages');          // a directory (relative to the repository)
 * site.route('/page.html', { file: '/abs/source.html' });    // one file
 * site.route('/hello.html', { body: '<p>hi</p>' });          // content (type from the extension)
 * site.route('/api', (req, res) => res.end('…'));            // a handler
 * ```
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from './util';

export const PAGES_DIR = path.join(REPO_ROOT, 'test/e2e/pages');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

export type RouteSpec =
  | RouteHandler
  | { file: string; contentType?: string; headers?: Record<string, string> }
  | { body: string | Uint8Array; contentType?: string; status?: number; headers?: Record<string, string> };

export interface ServedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  at: number;
  status?: number;
}

export interface StaticServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  /** Absolute URL of a path on this server. */
  url(pathname?: string): string;
  /** Serves one path (exact match, without the query string); replaces an earlier route for it. */
  route(pathname: string, spec: RouteSpec): void;
  /** Serves the files of `dir` (absolute or relative to the repository) under `prefix` (e.g. `/corpus/`). */
  mount(prefix: string, dir: string): void;
  unroute(pathname: string): void;
  /** Every request served, oldest first. */
  requests: ServedRequest[];
  close(): Promise<void>;
}

export interface StaticServerOptions {
  /** Directory served at `/` (default `test/e2e/pages/`); `null` serves only routes and mounts. */
  root?: string | null;
}

/** Resolves `relative` inside `dir`, or `undefined` when it would escape it. */
export function resolveInside(dir: string, relative: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(relative);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const resolved = path.resolve(dir, `.${path.posix.sep}${decoded.replace(/^\/+/, '')}`);
  const base = path.resolve(dir);
  return resolved === base || resolved.startsWith(base + path.sep) ? resolved : undefined;
}

export async function startStaticServer(options: StaticServerOptions = {}): Promise<StaticServer> {
  const routes = new Map<string, RouteSpec>();
  const mounts: Array<{ prefix: string; dir: string }> = [];
  const root = options.root === null ? undefined : path.resolve(REPO_ROOT, options.root ?? PAGES_DIR);
  if (root) mounts.push({ prefix: '/', dir: root });
  const requests: ServedRequest[] = [];
  const sockets = new Set<Socket>();

  const sendFile = async (
    res: http.ServerResponse,
    file: string,
    headOnly: boolean,
    contentType?: string,
    headers: Record<string, string> = {},
  ): Promise<boolean> => {
    let target = file;
    let info = await stat(target).catch(() => undefined);
    if (info?.isDirectory()) {
      target = path.join(target, 'index.html');
      info = await stat(target).catch(() => undefined);
    }
    if (!info?.isFile()) return false;
    res.writeHead(200, {
      'content-type': contentType ?? contentTypeFor(target),
      'content-length': String(info.size),
      'cache-control': 'no-store',
      ...headers,
    });
    if (headOnly) {
      res.end();
      return true;
    }
    await new Promise<void>((resolve, reject) => {
      const stream = createReadStream(target);
      stream.on('error', reject);
      res.on('close', resolve);
      stream.pipe(res);
    });
    return true;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, entry: ServedRequest) => {
    const pathname = entry.path;
    const headOnly = req.method === 'HEAD';
    const spec = routes.get(pathname);
    if (spec) {
      if (typeof spec === 'function') {
        await spec(req, res);
        return;
      }
      if ('file' in spec) {
        if (await sendFile(res, spec.file, headOnly, spec.contentType, spec.headers)) return;
        throw new Error(`The file routed at ${pathname} does not exist: ${spec.file}`);
      }
      const body = typeof spec.body === 'string' ? Buffer.from(spec.body) : Buffer.from(spec.body);
      res.writeHead(spec.status ?? 200, {
        'content-type': spec.contentType ?? contentTypeFor(pathname.endsWith('/') ? 'index.html' : pathname),
        'content-length': String(body.length),
        'cache-control': 'no-store',
        ...spec.headers,
      });
      res.end(headOnly ? undefined : body);
      return;
    }
    if (req.method === 'GET' || headOnly) {
      // Longest prefix first, so a mount can sit inside the root.
      for (const mount of [...mounts].sort((a, b) => b.prefix.length - a.prefix.length)) {
        if (!pathname.startsWith(mount.prefix)) continue;
        const file = resolveInside(mount.dir, pathname.slice(mount.prefix.length));
        if (file && (await sendFile(res, file, headOnly))) return;
      }
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`Not found: ${pathname}\n`);
  };

  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const entry: ServedRequest = {
      method: req.method ?? 'GET',
      path: pathname,
      headers: req.headers,
      at: Date.now(),
    };
    requests.push(entry);
    res.on('finish', () => {
      entry.status = res.statusCode;
    });
    handle(req, res, entry).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`Static server error: ${String(error)}\n`);
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  return {
    origin,
    port,
    url: (pathname = '/') => new URL(pathname, origin).href,
    route(pathname, spec) {
      if (!pathname.startsWith('/')) throw new TypeError(`Route paths start with "/": ${pathname}`);
      routes.set(pathname, spec);
    },
    unroute(pathname) {
      routes.delete(pathname);
    },
    mount(prefix, dir) {
      if (!prefix.startsWith('/') || !prefix.endsWith('/')) {
        throw new TypeError(`Mount prefixes start and end with "/": ${prefix}`);
      }
      mounts.push({ prefix, dir: path.resolve(REPO_ROOT, dir) });
    },
    requests,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
