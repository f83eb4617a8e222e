// Cloud Run, as a program of your own (the Docker image runs dist/cloud-run-cli.js instead):
// listens on 0.0.0.0:$PORT, drains on SIGTERM, logs JSON lines for Cloud Logging, and pulls
// from Artifact Registry with the service account's token: no secret stored anywhere.
import { serve } from 'registry-proxy/cloud-run';

const server = await serve({
  upstream: process.env.UPSTREAM ?? 'us-docker.pkg.dev',
  repositoryPrefix: process.env.REPO_PREFIX,
});
console.error(JSON.stringify({ severity: 'INFO', message: `registry-proxy listening on ${server.url}` }));
