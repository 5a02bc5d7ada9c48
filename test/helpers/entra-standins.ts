// Local stand-ins for what Microsoft Entra ID authentication to Azure Managed Redis talks to:
// - App Service's managed identity endpoint (IDENTITY_ENDPOINT + IDENTITY_HEADER, API 2019-08-01),
//   minting short-lived JWT access tokens with an `oid` claim;
// - Azure Managed Redis's rule that a connection lives only as long as the token it last
//   authenticated with: a TCP proxy in front of a real redis-server reads every AUTH and
//   HELLO ... AUTH a client sends, and cuts any connection whose token expires before it
//   re-authenticates. Redis itself checks the password: an ACL user named after the oid whose
//   passwords are the live tokens (each added when minted, removed when it expires).
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export interface Minted {
  token: string;
  oid: string;
  expiresAt: number;
  clientId: string | undefined;
}

export interface IdentityEndpoint {
  url: string;
  header: string;
  readonly minted: Minted[];
  /** Requests refused (wrong header, resource or api-version). */
  readonly refused: string[];
  close(): Promise<void>;
}

/**
 * `onMint` runs before the token is handed out (the Redis ACL must know it first).
 * `oidFor(clientId)`: the object id of the system-assigned (undefined) or a user-assigned identity.
 */
export async function identityEndpoint(options: { ttlSeconds: number; oidFor(clientId: string | undefined): string; onMint(m: Minted): Promise<void> }): Promise<IdentityEndpoint> {
  const header = randomBytes(16).toString('hex');
  const key = randomBytes(32);
  const minted: Minted[] = [];
  const refused: string[] = [];
  const server: HttpServer = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const problem =
      req.headers['x-identity-header'] !== header ? 'X-IDENTITY-HEADER' : url.searchParams.get('api-version') !== '2019-08-01' ? 'api-version' : url.searchParams.get('resource') !== 'https://redis.azure.com' ? `resource ${url.searchParams.get('resource')}` : undefined;
    if (problem) {
      refused.push(problem);
      res.writeHead(problem === 'X-IDENTITY-HEADER' ? 401 : 400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_request', error_description: problem }));
      return;
    }
    const clientId = url.searchParams.get('client_id') ?? undefined;
    const oid = options.oidFor(clientId);
    const now = Math.floor(Date.now() / 1000);
    const exp = now + options.ttlSeconds;
    const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ aud: 'https://redis.azure.com', iss: 'https://sts.windows.net/stand-in/', iat: now, nbf: now, exp, oid, jti: randomUUID() })}`;
    const token = `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
    const m = { token, oid, expiresAt: exp * 1000, clientId };
    void options.onMint(m).then(
      () => {
        minted.push(m);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, expires_on: String(exp), resource: 'https://redis.azure.com', token_type: 'Bearer', client_id: clientId ?? 'system-assigned' }));
      },
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/msi/token`,
    header,
    minted,
    refused,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The arguments of each complete RESP command (arrays of bulk strings) at the head of `buf`, and what is left. */
function parseCommands(buf: Buffer): { commands: string[][]; rest: Buffer } {
  const commands: string[][] = [];
  let pos = 0;
  for (;;) {
    const start = pos;
    const line = (): string | undefined => {
      const end = buf.indexOf('\r\n', pos);
      if (end < 0) return undefined;
      const text = buf.subarray(pos, end).toString();
      pos = end + 2;
      return text;
    };
    const head = line();
    if (head === undefined || !head.startsWith('*')) return { commands, rest: buf.subarray(start) };
    const args: string[] = [];
    for (let i = 0; i < Number(head.slice(1)); i++) {
      const len = line();
      if (len === undefined || pos + Number(len.slice(1)) + 2 > buf.length) return { commands, rest: buf.subarray(start) };
      args.push(buf.subarray(pos, pos + Number(len.slice(1))).toString());
      pos += Number(len.slice(1)) + 2;
    }
    commands.push(args);
  }
}

function tokenExpiry(token: string): number | undefined {
  try {
    const exp = (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export interface ProxiedConnection {
  /** Every AUTH (the handshake's HELLO AUTH included): user and when its token expires. */
  auths: { user: string; expiresAt: number | undefined; at: number }[];
  evicted: boolean;
}

export interface TokenProxy {
  port: number;
  readonly connections: ProxiedConnection[];
  close(): Promise<void>;
}

/** Forwards to Redis on `redisPort`; cuts a connection as soon as the token it last authenticated with expires. */
export async function tokenProxy(redisPort: number): Promise<TokenProxy> {
  const connections: ProxiedConnection[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: redisPort });
    const conn: ProxiedConnection = { auths: [], evicted: false };
    connections.push(conn);
    sockets.add(client).add(upstream);
    let pending: Buffer = Buffer.alloc(0);
    const check = setInterval(() => {
      const expiresAt = conn.auths.at(-1)?.expiresAt;
      if (expiresAt !== undefined && Date.now() >= expiresAt) {
        conn.evicted = true;
        client.destroy();
        upstream.destroy();
      }
    }, 50);
    const end = (): void => {
      clearInterval(check);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('data', (chunk: Buffer) => {
      const parsed = parseCommands(Buffer.concat([pending, chunk]));
      pending = parsed.rest;
      for (const args of parsed.commands) {
        const name = args[0]?.toUpperCase();
        const at = name === 'AUTH' ? 1 : name === 'HELLO' ? args.findIndex((a) => a.toUpperCase() === 'AUTH') + 1 : 0;
        if (at > 0 && args[at + 1] !== undefined) conn.auths.push({ user: args[at] ?? '', expiresAt: tokenExpiry(args[at + 1] ?? ''), at: Date.now() });
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
