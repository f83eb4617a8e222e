// Deno: `deno run -A examples/deno.ts` (in your project: import from the package's `/deno` subpath).
// UPSTREAM picks the registry to front (default ghcr.io), PORT the port (default 8080).
import { serve } from '../adapters/deno.ts';

const env = (globalThis as unknown as { Deno: { env: { get(name: string): string | undefined } } }).Deno.env;

const server = await serve({
  upstream: env.get('UPSTREAM') ?? 'ghcr.io',
  port: Number(env.get('PORT') ?? 8080),
  handleSignals: true,
});
console.log(`registry-proxy listening on ${server.url}`);
