/**
 * Real host names for test pages: a local HTTPS server with a self-signed certificate for chosen hosts
 * (`chatgpt.com`, `claude.ai` …), and the tunnel the network blocker opens to it when a browser asks to CONNECT
 * to one of them. Pages then load at their real URLs, so content scripts run under their real match patterns.
 *
 * ```ts
 * const sites = await startSiteServer(['chatgpt.com', 'claude.ai']);
 * sites.route('https://chatgpt.com/', { file: '/abs/chatgpt.html' });     // one URL (host + path)
 * sites.mount('https://chatgpt.com/static/', 'test/e2e/chatbots/pages');  // a directory under a URL prefix
 * const gl = await launchBrowser('chromium', { siteTunnel: sites.tunnel });
 * await gl.openPage('https://chatgpt.com/');
 * ```
 *
 * The launchers turn `siteTunnel` into: the blocker tunnelling CONNECT for those hosts (port 443) to this server
 * instead of refusing it, and the browser accepting the certificate (Chromium `--ignore-certificate-errors`,
 * Firefox `acceptInsecureCerts`). Every other host is still refused and counted. The certificate is made here,
 * with Node's crypto only (an ECDSA P-256 key, SAN for every host), fresh for each server.
 */

import crypto from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { contentTypeFor, type RouteSpec } from './static-server';
import { REPO_ROOT } from './util';

/** What the launchers need to route a browser's HTTPS for `hosts` to the site server. */
export interface SiteTunnel {
  hosts: readonly string[];
  port: number;
}

export interface SiteRequest {
  host: string;
  method: string;
  path: string;
  at: number;
  status?: number;
}

export interface SiteServer {
  port: number;
  hosts: readonly string[];
  tunnel: SiteTunnel;
  /** The certificate the server presents (PEM). */
  certificatePem: string;
  /** Serves one URL (`https://host/path`, exact path, query ignored); replaces an earlier route for it. */
  route(url: string, spec: RouteSpec): void;
  /** Serves the files of `dir` (absolute or relative to the repository) under a URL prefix. */
  mount(urlPrefix: string, dir: string): void;
  unroute(url: string): void;
  requests: SiteRequest[];
  close(): Promise<void>;
}

// -- a minimal DER writer for one self-signed certificate ----------------------------------------------------

function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, content]);
}
const seq = (...parts: Buffer[]) => der(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => der(0x31, Buffer.concat(parts));
function integer(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && !(b[1]! & 0x80)) b = b.subarray(1);
  return der(0x02, b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a! * 40 + b!];
  for (const v of rest) {
    const chunk: number[] = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) chunk.unshift((x & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return der(0x06, Buffer.from(out));
}
const utf8 = (s: string) => der(0x0c, Buffer.from(s, 'utf8'));
function time(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, '0');
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return der(0x17, Buffer.from(s, 'ascii'));
}
const explicit = (n: number, content: Buffer) => der(0xa0 + n, content);
const octets = (content: Buffer) => der(0x04, content);
const bits = (content: Buffer) => der(0x03, Buffer.concat([Buffer.from([0]), content]));

/** A self-signed certificate and its key (PEM) for `hosts`, valid from yesterday for 30 days. */
export function makeCertificate(hosts: readonly string[]): { key: string; cert: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ecdsaSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const name = seq(set(seq(oid('2.5.4.3'), utf8('Guardlens test sites'))));
  const now = Date.now();
  const validity = seq(time(new Date(now - 86_400_000)), time(new Date(now + 30 * 86_400_000)));
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const san = seq(...hosts.map((h) => der(0x82, Buffer.from(h, 'ascii'))));
  const extensions = explicit(
    3,
    seq(
      seq(oid('2.5.29.17'), octets(san)),
      seq(oid('2.5.29.19'), octets(seq())), // basicConstraints: not a CA
    ),
  );
  const serial = crypto.randomBytes(12);
  serial[0] = serial[0]! & 0x7f;
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    ecdsaSha256,
    name,
    validity,
    name,
    spki,
    extensions,
  );
  const signature = crypto.sign('sha256', tbs, privateKey);
  const certDer = seq(tbs, ecdsaSha256, bits(signature));
  const pem = (label: string, body: Buffer) =>
    `-----BEGIN ${label}-----\n${body.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;
  return {
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    cert: pem('CERTIFICATE', certDer),
  };
}

// -- the server --------------------------------------------------------------------------------------------------

function keyOf(url: string): string {
  const u = new URL(url);
  return `${u.hostname}${u.pathname}`;
}

/** Starts the HTTPS server for `hosts` on 127.0.0.1 at a random port. */
export async function startSiteServer(hosts: readonly string[]): Promise<SiteServer> {
  const wanted = [...new Set(hosts.map((h) => h.toLowerCase()))];
  const { key, cert } = makeCertificate(wanted);
  const routes = new Map<string, RouteSpec>();
  const mounts: Array<{ prefix: string; dir: string }> = [];
  const requests: SiteRequest[] = [];
  const sockets = new Set<Socket>();

  const sendFile = async (
    res: http.ServerResponse,
    file: string,
    type?: string,
    headers?: Record<string, string>,
  ) => {
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return 404;
    }
    res.writeHead(200, {
      'content-type': type ?? contentTypeFor(file),
      'cache-control': 'no-store',
      ...headers,
    });
    createReadStream(file).pipe(res);
    return 200;
  };

  const server = https.createServer({ key, cert }, async (req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'https://x').pathname);
    const entry: SiteRequest = { host, method: req.method ?? 'GET', path: pathname, at: Date.now() };
    requests.push(entry);
    try {
      const spec = routes.get(`${host}${pathname}`);
      if (typeof spec === 'function') {
        await spec(req, res);
        entry.status = res.statusCode;
        return;
      }
      if (spec && 'file' in spec) {
        entry.status = await sendFile(res, spec.file, spec.contentType, spec.headers);
        return;
      }
      if (spec) {
        const body = typeof spec.body === 'string' ? Buffer.from(spec.body) : spec.body;
        res.writeHead(spec.status ?? 200, {
          'content-type': spec.contentType ?? 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          ...spec.headers,
        });
        res.end(body);
        entry.status = spec.status ?? 200;
        return;
      }
      const mount = mounts.find((m) => `${host}${pathname}`.startsWith(m.prefix));
      if (mount) {
        const rel = `${host}${pathname}`.slice(mount.prefix.length);
        const file = path.resolve(mount.dir, rel);
        if (!file.startsWith(path.resolve(mount.dir) + path.sep)) {
          res.writeHead(403).end();
          entry.status = 403;
          return;
        }
        entry.status = await sendFile(res, file);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      entry.status = 404;
    } catch (error) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
      entry.status = 500;
    }
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    port,
    hosts: wanted,
    tunnel: { hosts: wanted, port },
    certificatePem: cert,
    route(url, spec) {
      routes.set(keyOf(url), spec);
    },
    unroute(url) {
      routes.delete(keyOf(url));
    },
    mount(urlPrefix, dir) {
      mounts.push({ prefix: keyOf(urlPrefix), dir: path.resolve(REPO_ROOT, dir) });
    },
    requests,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The blocker's tunnel rule for a `SiteTunnel`: HTTPS (port 443) to one of its hosts goes to the site server. */
export function tunnelRule(tunnel: SiteTunnel): (host: string, port: number) => number | undefined {
  const hosts = new Set(tunnel.hosts.map((h) => h.toLowerCase()));
  return (host, port) => (port === 443 && hosts.has(host.toLowerCase()) ? tunnel.port : undefined);
}
