// Minimal fetch-handler reverse proxy: the "deno-floor" and "bun-floor" reference rows of
// bench/run.sh, the counterparts of node-passthrough.mjs. It does what a registry proxy must do
// on the hot path (optional injected Authorization, stream the body through the runtime's own
// `fetch` and keep-alive pool) with the runtime's own server (`Deno.serve` / `Bun.serve`) and
// nothing else: no routing, no name mapping, no body checks, no logging. registry-proxy on that
// runtime pays for its extra work relative to this row.
//
//   UPSTREAM=https://127.0.0.1:$PORT_STATIC_TLS PORT=9000 AUTH_HEADER='Bearer bench' \
//   DENO_CERT=$BENCH/tls/ca.crt deno run -A bench/fetch-passthrough.mjs
//   UPSTREAM=… PORT=9000 NODE_EXTRA_CA_CERTS=$BENCH/tls/ca.crt bun bench/fetch-passthrough.mjs
//
// env: UPSTREAM (required), PORT (9000), HOST (127.0.0.1), AUTH_HEADER
/* global Deno, Bun, Headers, Response */
const env = (name) => (globalThis.Deno ? Deno.env.get(name) : process.env[name]);
const upstream = new URL(env('UPSTREAM') ?? '');
const port = Number(env('PORT') || 9000);
const hostname = env('HOST') || '127.0.0.1';
const auth = env('AUTH_HEADER') || '';
const hop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);

async function handle(request) {
  const url = new URL(request.url);
  const headers = new Headers();
  for (const [name, value] of request.headers) if (!hop.has(name)) headers.set(name, value);
  if (auth) headers.set('authorization', auth);
  headers.set('accept-encoding', 'identity');
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  try {
    const response = await fetch(new URL(url.pathname + url.search, upstream), {
      method: request.method,
      headers,
      body: hasBody ? request.body : null,
      redirect: 'manual',
      ...(hasBody ? { duplex: 'half' } : {}),
    });
    const out = new Headers();
    for (const [name, value] of response.headers) if (!hop.has(name)) out.append(name, value);
    return new Response(response.body, { status: response.status, headers: out });
  } catch (error) {
    return new Response(`upstream error: ${error.message}\n`, { status: 502 });
  }
}

if (globalThis.Deno) {
  Deno.serve({ port, hostname, onListen: () => console.log(`deno fetch-passthrough on ${hostname}:${port} -> ${upstream.origin}`) }, handle);
} else {
  // Bun's default idleTimeout (10 s) would cut slow blob streams; the proxy's Bun adapter uses 255 too.
  Bun.serve({ port, hostname, idleTimeout: 255, fetch: handle });
  console.log(`bun fetch-passthrough on ${hostname}:${port} -> ${upstream.origin}`);
}
