/**
 * A stand-in for the GCP metadata server on 127.0.0.1, for the Cloud Run entry running as a
 * child process (reached through GCE_METADATA_HOST, as Google's libraries do).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetadataServer {
  /** `127.0.0.1:PORT`, the value of GCE_METADATA_HOST. */
  host: string;
  /** Paths asked for, in order. */
  requests: string[];
  stop(): Promise<void>;
}

export async function startMetadataServer(options: { token: string; projectId: string }): Promise<MetadataServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.headers['metadata-flavor'] !== 'Google') {
      res.writeHead(403).end('Missing Metadata-Flavor:Google header.');
      return;
    }
    const headers = { 'metadata-flavor': 'Google' };
    if (req.url === '/computeMetadata/v1/instance/service-accounts/default/token') {
      res.writeHead(200, { ...headers, 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: options.token, expires_in: 3599, token_type: 'Bearer' }));
    } else if (req.url === '/computeMetadata/v1/project/project-id') {
      res.writeHead(200, { ...headers, 'content-type': 'application/text' }).end(options.projectId);
    } else {
      res.writeHead(404, headers).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
