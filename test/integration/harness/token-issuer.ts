/**
 * A Docker-registry token server (distribution `docs/spec/auth/token.md`, `oauth.md`) for tests.
 *
 * - `GET /token?service=…&scope=…&scope=…` with optional Basic auth;
 * - `POST /token` OAuth2 form (`grant_type=password` with `username`/`password`, or
 *   `grant_type=refresh_token`), one space-separated `scope` field;
 * - signs ES256 (default) or RS256 JWTs whose `kid` is the libtrust key ID of the signing
 *   certificate, which is what distribution 2.8 looks up in `auth.token.rootcertbundle`;
 * - authenticated users get every action they ask for; anonymous callers get pull-only
 *   (`anonymous: 'pull'`), a token with no access (`'none'`, like Docker Hub for a private
 *   repository), or a 401 (`'deny'`);
 * - records every request so tests can assert exactly which scopes reached it.
 */
import { createHash, createPrivateKey, randomBytes, sign as cryptoSign, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { run } from './process.ts';

export interface Access {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenRequestRecord {
  method: string;
  path: string;
  /** Query parameters, every value kept (scope is usually repeated). */
  query: Record<string, string[]>;
  /** Parsed `application/x-www-form-urlencoded` body of a POST. */
  form: Record<string, string[]> | undefined;
  /** Every individual scope asked for (query `scope`s and form `scope`, split on spaces). */
  scopes: string[];
  service: string | undefined;
  /** Whether the request carried an `Authorization` header at all. */
  authorization: boolean;
  /** `Basic`, `Bearer`, … when `authorization` is true. */
  authorizationScheme: string | undefined;
  /** The user named by Basic auth or the form, whether or not the password was right. */
  user: string | undefined;
  authenticated: boolean;
  status: number;
  granted: Access[];
  /** The issued access token (so tests can check it never leaks through a proxy). */
  token: string | undefined;
  userAgent: string | undefined;
}

export interface TokenIssuerOptions {
  /** username → password. @default { testuser: 'testpass-s3cret' } */
  users?: Record<string, string>;
  /** What a request without valid credentials gets. @default 'none' */
  anonymous?: 'pull' | 'none' | 'deny';
  /** Wrong credentials: 401 (like Docker Hub and distribution's token servers) or treated as anonymous. @default 'deny' */
  badCredentials?: 'deny' | 'anonymous';
  /** JWT `aud` and the registry's `auth.token.service`. @default 'test-registry' */
  service?: string;
  /** JWT `iss` and the registry's `auth.token.issuer`. @default 'test-issuer' */
  issuer?: string;
  /** Token lifetime in seconds. @default 300 */
  ttl?: number;
  /** @default 'ES256' */
  algorithm?: 'ES256' | 'RS256';
  /** Path of the token endpoint. @default '/token' */
  path?: string;
}

export interface TokenIssuer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** The realm to configure in the registry: `http://127.0.0.1:PORT/token`. */
  realm: string;
  service: string;
  issuer: string;
  /** PEM certificate for the registry's `rootcertbundle`. */
  certPath: string;
  users: Record<string, string>;
  /** Every request so far, oldest first. */
  requests: TokenRequestRecord[];
  /** All scopes asked for so far, flattened. */
  scopes(): string[];
  /** Forget recorded requests (e.g. after pushing the test images). */
  reset(): void;
  stop(): Promise<void>;
}

/** libtrust key ID: base32(sha256(SPKI DER)[:30]) in 12 colon-separated groups of 4. */
export function libtrustKeyId(spkiDer: Buffer): string {
  const digest = createHash('sha256').update(spkiDer).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return (out.match(/.{4}/g) ?? []).join(':');
}

/** `type:name:actions`; the name may contain `:` (a host:port), the actions never do. */
export function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last <= first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  };
}

function collect(params: URLSearchParams): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [key, value] of params) (out[key] ??= []).push(value);
  return out;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const b64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

export async function startTokenIssuer(options: TokenIssuerOptions = {}): Promise<TokenIssuer> {
  const users = options.users ?? { testuser: 'testpass-s3cret' };
  const anonymous = options.anonymous ?? 'none';
  const badCredentials = options.badCredentials ?? 'deny';
  const service = options.service ?? 'test-registry';
  const issuerName = options.issuer ?? 'test-issuer';
  const ttl = options.ttl ?? 300;
  const algorithm = options.algorithm ?? 'ES256';
  const tokenPath = options.path ?? '/token';

  const dir = await mkdtemp(join(tmpdir(), 'rp-issuer-'));
  const keyPath = join(dir, 'token.key');
  const certPath = join(dir, 'token.crt');
  const keyArgs = algorithm === 'ES256' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] : ['-newkey', 'rsa:2048'];
  const generated = await run(
    'openssl',
    ['req', '-x509', ...keyArgs, '-nodes', '-days', '30', '-subj', `/CN=${issuerName}`, '-keyout', keyPath, '-out', certPath],
    { timeoutMs: 30_000 },
  );
  if (generated.code !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`openssl could not make the token signing certificate:\n${generated.stderr}`);
  }
  const privateKey: KeyObject = createPrivateKey(readFileSync(keyPath));
  const spki = new X509Certificate(readFileSync(certPath)).publicKey.export({ type: 'spki', format: 'der' });
  const kid = libtrustKeyId(spki);

  const signToken = (subject: string, access: Access[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: algorithm, kid };
    const claims = {
      iss: issuerName,
      sub: subject,
      aud: service,
      exp: now + ttl,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(12).toString('hex'),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature =
      algorithm === 'ES256'
        ? cryptoSign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' })
        : cryptoSign('sha256', Buffer.from(input), privateKey);
    return `${input}.${b64url(signature)}`;
  };

  const refreshTokens = new Map<string, string>();
  const requests: TokenRequestRecord[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const authorizationHeader = req.headers.authorization;
    const record: TokenRequestRecord = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: collect(url.searchParams),
      form: undefined,
      scopes: [],
      service: url.searchParams.get('service') ?? undefined,
      authorization: authorizationHeader !== undefined,
      authorizationScheme: authorizationHeader?.split(' ')[0],
      user: undefined,
      authenticated: false,
      status: 0,
      granted: [],
      token: undefined,
      userAgent: req.headers['user-agent'],
    };
    requests.push(record);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      record.status = status;
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const unauthorized = (message: string): void =>
      reply(401, { errors: [{ code: 'UNAUTHORIZED', message }], details: message }, { 'WWW-Authenticate': `Basic realm="${issuerName}"` });

    if (url.pathname !== tokenPath) {
      reply(404, { errors: [{ code: 'NOT_FOUND', message: 'not found' }] });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'POST') {
      reply(405, { errors: [{ code: 'UNSUPPORTED', message: 'method not allowed' }] });
      return;
    }

    let scopeValues = url.searchParams.getAll('scope');
    let username: string | undefined;
    let password: string | undefined;
    let refreshUser: string | undefined;
    let grantType: string | undefined;
    if (authorizationHeader?.toLowerCase().startsWith('basic ')) {
      const decoded = Buffer.from(authorizationHeader.slice(6).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      username = colon < 0 ? decoded : decoded.slice(0, colon);
      password = colon < 0 ? '' : decoded.slice(colon + 1);
    }
    if (req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      record.form = collect(form);
      record.service = form.get('service') ?? record.service;
      scopeValues = form.getAll('scope');
      grantType = form.get('grant_type') ?? undefined;
      if (grantType === 'password') {
        username = form.get('username') ?? username;
        password = form.get('password') ?? password;
      } else if (grantType === 'refresh_token') {
        refreshUser = refreshTokens.get(form.get('refresh_token') ?? '');
        if (refreshUser === undefined) {
          unauthorized('invalid refresh token');
          return;
        }
      } else {
        reply(400, { error: 'unsupported_grant_type', error_description: `grant_type ${String(grantType)}` });
        return;
      }
    }
    record.scopes = scopeValues.flatMap((value) => value.split(' ')).filter(Boolean);
    record.user = refreshUser ?? username;

    let subject = 'anonymous';
    if (refreshUser !== undefined) {
      subject = refreshUser;
    } else if (username !== undefined) {
      if (users[username] !== undefined && users[username] === password) {
        subject = username;
      } else if (badCredentials === 'deny') {
        unauthorized('invalid username or password');
        return;
      }
    }
    record.authenticated = subject !== 'anonymous';
    if (!record.authenticated && anonymous === 'deny') {
      unauthorized('authentication required');
      return;
    }

    const access: Access[] = [];
    for (const scope of record.scopes) {
      const parsed = parseScope(scope);
      if (!parsed) continue;
      if (!record.authenticated) {
        if (anonymous !== 'pull' || parsed.type !== 'repository') continue;
        parsed.actions = parsed.actions.filter((a) => a === 'pull');
        if (parsed.actions.length === 0) continue;
      }
      access.push(parsed);
    }
    record.granted = access;
    const token = signToken(subject, access);
    record.token = token;
    const body: Record<string, unknown> = { token, access_token: token, expires_in: ttl, issued_at: new Date().toISOString() };
    const wantsRefresh =
      record.authenticated &&
      (url.searchParams.get('offline_token') === 'true' || (record.form?.access_type?.[0] === 'offline' && grantType === 'password'));
    if (wantsRefresh) {
      const refresh = randomBytes(16).toString('hex');
      refreshTokens.set(refresh, subject);
      body.refresh_token = refresh;
    }
    reply(200, body);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(String(error));
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  let stopped = false;

  return {
    url,
    realm: `${url}${tokenPath}`,
    service,
    issuer: issuerName,
    certPath,
    users,
    requests,
    scopes: () => requests.flatMap((r) => r.scopes),
    reset: () => {
      requests.length = 0;
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
