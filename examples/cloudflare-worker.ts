// A Cloudflare Workers module worker: `wrangler deploy examples/cloudflare-worker.ts` with
// `[vars] UPSTREAM = "ghcr.io"` in wrangler.toml. The proxy is made once per isolate, on the
// first request, because `env` only exists there.
import { createRegistryProxy, type FetchHandler } from '../lib/index.ts';

interface Env {
  UPSTREAM?: string;
  REPO_PREFIX?: string;
}

let proxy: FetchHandler | undefined;

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    proxy ??= createRegistryProxy({ upstream: env.UPSTREAM ?? 'ghcr.io', repositoryPrefix: env.REPO_PREFIX });
    return proxy(request);
  },
};
