// The proxy inside an existing Hono app: registry routes go to the proxy, the rest stays the app's.
// Serve it with any Hono adapter, e.g. `Deno.serve(app.fetch)` or `export default app` on Bun.
import { Hono } from 'hono';
import { createRegistryProxy } from '../lib/index.ts';

const proxy = createRegistryProxy({ upstream: process.env.UPSTREAM ?? 'ghcr.io' });

const app = new Hono();
app.get('/', (c) => c.text('My site. Images: docker pull <this host>/<image>'));
// `/v2/*` is the registry API; `/_token` is where the proxy points clients for tokens.
app.all('/v2/*', (c) => proxy(c.req.raw));
app.all('/_token', (c) => proxy(c.req.raw));

export default app;
