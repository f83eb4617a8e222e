#!/usr/bin/env node
// Tiny Docker-registry token issuer (distribution docs/spec/auth/token.md) for bench/run.sh.
// Grants every requested action to anyone (loopback-only test rig) and signs ES256 JWTs. The
// static upstream's challenge points here, so a client that pulls anonymously through the proxy
// does the real token dance (proxy /_token -> this issuer). The static upstream accepts any
// Authorization header, so the token's content is not checked there.
//
// env: ISSUER_PORT (required), ISSUER_KEY, ISSUER_CERT (required), ISSUER_NAME, ISSUER_SERVICE, ISSUER_TTL
// Adapted from shared/bench/token-issuer.js (CommonJS there; ESM here).
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';

const required = (name) => process.env[name] || (console.error(`token-issuer: ${name} is not set`), process.exit(2));
const port = Number(required('ISSUER_PORT'));
const keyPem = fs.readFileSync(required('ISSUER_KEY'));
const certPem = fs.readFileSync(required('ISSUER_CERT'));
const issuer = process.env.ISSUER_NAME || 'bench-issuer';
const service = process.env.ISSUER_SERVICE || 'bench-registry';
const ttl = Number(process.env.ISSUER_TTL || 300);

const privateKey = crypto.createPrivateKey(keyPem);
const spki = new crypto.X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });

// libtrust key ID: base32(sha256(SPKI DER)[:30]) in 12 colon-separated groups of 4
function libtrustKeyID(der) {
  const b = crypto.createHash('sha256').update(der).digest().subarray(0, 30);
  const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let val = 0;
  let out = '';
  for (const byte of b) {
    val = (val << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alpha[(val >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g).join(':');
}
const kid = libtrustKeyID(spki);
const b64u = (buf) => Buffer.from(buf).toString('base64url');

function parseScope(s) {
  // type:name:actions ; name may itself contain ':' (e.g. a port), actions never do
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first < 0 || last <= first) return null;
  return { type: s.slice(0, first), name: s.slice(first + 1, last), actions: s.slice(last + 1).split(',').filter(Boolean) };
}

function sign(sub, access) {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'ES256', kid };
  const claims = { iss: issuer, sub, aud: service, exp: now + ttl, nbf: now - 10, iat: now, jti: crypto.randomBytes(12).toString('hex'), access };
  const input = b64u(JSON.stringify(header)) + '.' + b64u(JSON.stringify(claims));
  const sig = crypto.sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return input + '.' + b64u(sig);
}

let issued = 0;
const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://127.0.0.1');
  if (u.pathname !== '/token') {
    res.writeHead(404).end('not found\n');
    return;
  }
  let sub = 'anonymous';
  const authz = req.headers.authorization || '';
  if (authz.startsWith('Basic ')) sub = Buffer.from(authz.slice(6), 'base64').toString().split(':')[0];
  const access = [];
  for (const sc of u.searchParams.getAll('scope')) {
    for (const part of sc.split(' ')) {
      const p = parseScope(part);
      if (p) access.push(p);
    }
  }
  const token = sign(sub, access);
  issued++;
  if (process.env.ISSUER_DEBUG) console.log(`token #${issued} sub=${sub} scope=${u.searchParams.getAll('scope').join(' ')}`);
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ token, access_token: token, expires_in: ttl, issued_at: new Date().toISOString() }));
});
server.listen(port, '127.0.0.1', () => console.log(`token issuer on 127.0.0.1:${port} kid=${kid}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
