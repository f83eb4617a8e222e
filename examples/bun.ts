// Bun: `bun examples/bun.ts` (in your project: import { serve } from 'registry-proxy/bun').
// UPSTREAM picks the registry to front (default ghcr.io), PORT the port (default 8080).
import { serve } from '../adapters/bun.ts';

const server = await serve({
  upstream: process.env.UPSTREAM ?? 'ghcr.io',
  port: Number(process.env.PORT ?? 8080),
  handleSignals: true,
});
console.log(`registry-proxy listening on ${server.url}`);
