#!/usr/bin/env node
// Minimal Node.js reverse proxy: the "Node floor" reference row of bench/run.sh. It does what a
// registry proxy must do on the hot path (optional prefix rewrite, optional injected
// Authorization, stream the body through a keep-alive pool) and nothing else: no token-endpoint
// proxying, no realm rewriting, no logging. registry-proxy on Node pays for its extra work
// (routing, fetch/web streams, header mapping) relative to this row.
//
//   UPSTREAM=https://127.0.0.1:$PORT_STATIC_TLS PORT=9000 AUTH_HEADER='Bearer bench' \
//   NODE_EXTRA_CA_CERTS=$BENCH/tls/ca.crt node bench/node-passthrough.mjs
//
// env: UPSTREAM (required), PORT (9000), HOST (127.0.0.1), AUTH_HEADER, REPO_PREFIX,
//      MAX_SOCKETS (256: keep-alive pool to the upstream), INSECURE=1 (skip TLS verify)
// Adapted from shared/bench/node-passthrough.js (CommonJS there; ESM here for this package).
import http from 'node:http';
import https from 'node:https';

function die(msg) {
  console.error(msg);
  process.exit(2);
}

const up = new URL(process.env.UPSTREAM || die('UPSTREAM not set'));
const port = Number(process.env.PORT || 9000);
const host = process.env.HOST || '127.0.0.1';
const auth = process.env.AUTH_HEADER || '';
const prefix = process.env.REPO_PREFIX || '';
const lib = up.protocol === 'https:' ? https : http;
const agent = new lib.Agent({
  keepAlive: true,
  maxSockets: Number(process.env.MAX_SOCKETS || 256),
  maxFreeSockets: Number(process.env.MAX_SOCKETS || 256),
  rejectUnauthorized: process.env.INSECURE !== '1',
});
const hop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);

function rewrite(path) {
  if (!prefix || path === '/v2/' || path.startsWith('/v2/?') || !path.startsWith('/v2/')) return path;
  return '/v2/' + prefix + '/' + path.slice(4);
}

const server = http.createServer((req, res) => {
  const headers = {};
  for (const [k, v] of Object.entries(req.headers)) if (!hop.has(k)) headers[k] = v;
  headers.host = up.host;
  if (auth) headers.authorization = auth;
  const preq = lib.request(
    { protocol: up.protocol, hostname: up.hostname, port: up.port, agent, method: req.method, path: rewrite(req.url), headers },
    (pres) => {
      const out = {};
      for (const [k, v] of Object.entries(pres.headers)) if (!hop.has(k)) out[k] = v;
      res.writeHead(pres.statusCode, out);
      pres.pipe(res);
    },
  );
  preq.on('error', (e) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('upstream error: ' + e.message + '\n');
  });
  res.on('close', () => {
    if (!res.writableFinished) preq.destroy();
  });
  req.pipe(preq);
});
server.listen(port, host, () => console.log(`node-passthrough on ${host}:${port} -> ${up.origin} prefix=${prefix || '-'}`));
process.on('SIGTERM', () => process.exit(0));
