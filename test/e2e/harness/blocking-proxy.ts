/**
 * The network blocker: a tiny HTTP proxy every test browser is pointed at. Both browsers send loopback
 * traffic straight to its destination (the harness verifies this), so whatever reaches this proxy is an
 * attempt to leave the machine. Each attempt is recorded and refused: plain proxied requests get a 403,
 * CONNECT tunnels get a 403 before any byte is relayed, WebSocket upgrades are closed.
 */
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';

/** One refused attempt to reach a non-loopback host. */
export interface BlockedRequest {
  /** Host name (or address) the browser wanted, without the port. */
  host: string;
  /** Port the browser wanted (443 for most CONNECT tunnels). */
  port: number;
  /** Full URL for plain-HTTP requests; tunnels (HTTPS, WSS) only reveal host and port. */
  url?: string;
  /** `CONNECT` for tunnels, the HTTP method otherwise. */
  method: string;
  /** Epoch milliseconds when the proxy saw it. */
  at: number;
  /**
   * `Origin` header when the browser sent one (plain HTTP only). An extension's POSTs carry its origin;
   * Chromium sends none on an extension's GET.
   */
  origin?: string;
  /** `User-Agent` header when present. */
  userAgent?: string;
}

export interface BlockingProxy {
  /** `127.0.0.1:<port>`, for Chromium's `--proxy-server`. */
  hostPort: string;
  port: number;
  /** Every refused attempt, in arrival order. The array is live: it grows while the browser runs. */
  blocked: BlockedRequest[];
  /** CONNECT tunnels opened to a local server instead of being refused (`BlockingProxyOptions.tunnel`). */
  tunnelled: Array<{ host: string; port: number; at: number }>;
  /** Resolves with the first blocked request matching `predicate` (or rejects after `timeoutMs`). */
  waitForBlocked(predicate: (r: BlockedRequest) => boolean, timeoutMs?: number): Promise<BlockedRequest>;
  close(): Promise<void>;
}

function splitHostPort(authority: string, defaultPort: number): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(authority);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] ? Number(bracketed[2]) : defaultPort };
  const idx = authority.lastIndexOf(':');
  if (idx > 0 && /^\d+$/.test(authority.slice(idx + 1))) {
    return { host: authority.slice(0, idx), port: Number(authority.slice(idx + 1)) };
  }
  return { host: authority, port: defaultPort };
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export interface BlockingProxyOptions {
  /**
   * Hosts served locally under their real names (`sites.ts`): for a CONNECT to `host:port`, the port on
   * 127.0.0.1 to tunnel to, or undefined to refuse it as usual.
   */
  tunnel?: (host: string, port: number) => number | undefined;
}

/** Starts the blocker on 127.0.0.1 at a random free port. */
export async function startBlockingProxy(options: BlockingProxyOptions = {}): Promise<BlockingProxy> {
  const blocked: BlockedRequest[] = [];
  const tunnelled: BlockingProxy['tunnelled'] = [];
  const waiters = new Set<{
    predicate: (r: BlockedRequest) => boolean;
    resolve: (r: BlockedRequest) => void;
  }>();
  const sockets = new Set<Socket>();

  const record = (entry: BlockedRequest): void => {
    blocked.push(entry);
    for (const w of waiters) {
      if (w.predicate(entry)) {
        waiters.delete(w);
        w.resolve(entry);
      }
    }
  };

  const server = http.createServer((req, res) => {
    // A proxied plain-HTTP request carries an absolute URL; anything else is a direct hit on the proxy.
    const raw = req.url ?? '';
    let host = '';
    let port = 80;
    let url: string | undefined;
    try {
      const parsed = new URL(raw);
      host = parsed.hostname.replace(/^\[|\]$/g, '');
      port = parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
      url = parsed.href;
    } catch {
      const hp = splitHostPort(header(req, 'host') ?? '', 80);
      host = hp.host;
      port = hp.port;
      url = raw || undefined;
    }
    record({
      host,
      port,
      url,
      method: req.method ?? 'GET',
      at: Date.now(),
      origin: header(req, 'origin'),
      userAgent: header(req, 'user-agent'),
    });
    req.resume();
    res.writeHead(403, { 'content-type': 'text/plain', connection: 'close' });
    res.end('Blocked by the Guardlens test network blocker: tests may only reach loopback.\n');
  });

  server.on('connect', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const { host, port } = splitHostPort(req.url ?? '', 443);
    const local = options.tunnel?.(host, port);
    if (local !== undefined) {
      tunnelled.push({ host, port, at: Date.now() });
      const upstream = net.connect(local, '127.0.0.1', () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
      socket.on('close', () => upstream.destroy());
      return;
    }
    record({
      host,
      port,
      method: 'CONNECT',
      at: Date.now(),
      userAgent: header(req, 'user-agent'),
    });
    socket.on('error', () => {});
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: Socket) => {
    let host = '';
    let port = 80;
    try {
      const parsed = new URL(req.url ?? '');
      host = parsed.hostname;
      port = parsed.port ? Number(parsed.port) : 80;
    } catch {
      ({ host, port } = splitHostPort(header(req, 'host') ?? '', 80));
    }
    record({
      host,
      port,
      url: req.url,
      method: `${req.method ?? 'GET'} (upgrade)`,
      at: Date.now(),
      origin: header(req, 'origin'),
      userAgent: header(req, 'user-agent'),
    });
    socket.on('error', () => {});
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });

  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    port,
    hostPort: `127.0.0.1:${port}`,
    blocked,
    tunnelled,
    waitForBlocked(predicate, timeoutMs = 10_000) {
      const already = blocked.find(predicate);
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const waiter = {
          predicate,
          resolve: (r: BlockedRequest) => {
            clearTimeout(timer);
            resolve(r);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`No matching blocked request within ${timeoutMs} ms (saw ${blocked.length})`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
