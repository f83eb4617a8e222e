// Node (>= 20.10): `node examples/node.mjs`, then `docker pull localhost:8080/<image>`.
// UPSTREAM picks the registry to front (default ghcr.io), PORT the port (default 8080).
import { serve } from 'registry-proxy/node';

const server = await serve({
  upstream: process.env.UPSTREAM ?? 'ghcr.io',
  port: Number(process.env.PORT ?? 8080),
  // Drain in-flight pulls and exit on SIGTERM / Ctrl-C.
  handleSignals: true,
});
console.log(`registry-proxy listening on ${server.url}`);
