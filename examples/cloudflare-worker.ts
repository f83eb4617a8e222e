// A Cloudflare Workers module worker, bundled and deployed as docs/workers.md says (the e2e
// suite runs this file in workerd: test/e2e/workerd.test.ts). The proxy is made once per
// isolate, on the first request, because `env` only exists there.
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
