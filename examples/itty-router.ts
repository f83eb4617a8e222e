// The proxy inside an existing itty-router app: registry routes go to the proxy.
// Serve it with anything that takes a fetch handler: `export default router` on Bun or Workers.
import { Router, text } from 'itty-router';
import { createRegistryProxy } from '../lib/index.ts';

const proxy = createRegistryProxy({ upstream: process.env.UPSTREAM ?? 'ghcr.io' });

// itty hands its own request object (the Request with params added): pass it on as a Request.
const router = Router({ finally: [(response: Response | undefined) => response ?? text('Not found', { status: 404 })] });
router
  .get('/', () => text('My site. Images: docker pull <this host>/<image>'))
  // itty does not route HEAD to GET handlers, so `all` keeps HEAD (docker asks for manifests with it).
  .all('/v2/*', (request) => proxy(request as unknown as Request))
  .all('/_token', (request) => proxy(request as unknown as Request));

export default router;
