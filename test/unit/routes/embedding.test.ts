/**
 * Issue 10: the handler never writes to the Request it is given. An app that embeds it — an
 * itty-router app, whose own request object carries `params`, `query` and `route` — sees its
 * request as it was before the call.
 */
import { IttyRouter, type IRequest } from 'itty-router';
import { describe, expect, it } from 'vitest';
import { createRegistryProxy } from '../../../lib/index.ts';
import { ghcr, MediaType, sha256 } from '../../upstreams/index.ts';
import { useMsw } from '../helpers/multi-upstream.ts';

const server = useMsw();
const headers = { accept: MediaType.ociManifest };

describe("the caller's Request is left as it was", () => {
  it('a plain Request gains no properties', async () => {
    const upstream = ghcr();
    server.use(...upstream.handlers);
    const image = upstream.addImage('owner/app', 'v1');
    const proxy = createRegistryProxy({ upstreams: [{ upstream: 'quay.io', namespaces: ['quay.io'] }, { upstream: 'ghcr.io' }] });
    const request = new Request('http://proxy.test/v2/owner/app/manifests/v1?ns=ghcr.io', { headers });
    const response = await proxy(request);
    expect(response.status).toBe(200);
    expect(sha256(new Uint8Array(await response.arrayBuffer()))).toBe(image.manifest.digest);
    expect(Object.keys(request)).toEqual([]);
  });

  it("an itty-router app's params, query and route survive the proxy call", async () => {
    const upstream = ghcr();
    server.use(...upstream.handlers);
    upstream.addImage('owner/app', 'v1');
    const proxy = createRegistryProxy({ upstreams: [{ upstream: 'quay.io', namespaces: ['quay.io'] }, { upstream: 'ghcr.io' }] });
    const app = IttyRouter();
    app.get('/v2/:image+/manifests/:tag', async (request: IRequest) => {
      const response = await proxy(request as unknown as Request);
      // What the app reads after the proxy answered: its own routing, untouched.
      return Response.json({ status: response.status, params: request.params, query: request.query, route: request.route });
    });
    const answer = await app.fetch(new Request('http://proxy.test/v2/owner/app/manifests/v1?trace=1', { headers }));
    expect(await answer.json()).toEqual({
      status: 200,
      params: { image: 'owner/app', tag: 'v1' },
      query: { trace: '1' },
      route: '/v2/:image+/manifests/:tag',
    });
  });
});
