import process from 'node:process';
import type { RegistryProxyOptions } from '../../lib/options/types.ts';
import { jsonLine } from '../log-entry.ts';
import { cloudErrorEntry, cloudRequestEntry } from './logging.ts';
import { fetchProjectId, metadataCredentials, metadataOriginFromEnv, type MetadataOptions } from './gcp-metadata.ts';
import { serve as serveNode, type NodeServeOptions, type RunningServer } from '../node/serve.ts';

export { metadataCredentials, fetchAccessToken, fetchProjectId, metadataOriginFromEnv, type MetadataOptions } from './gcp-metadata.ts';
export { cloudRequestEntry, cloudErrorEntry, parseTraceContext, type TraceContext } from './logging.ts';

/** Cloud Run sends SIGKILL 10 s after SIGTERM; drain for less so the process exits on its own. */
const CLOUD_RUN_DRAIN_MS = 8_000;

export interface CloudRunServeOptions extends Omit<NodeServeOptions, 'onRequest'> {
  /**
   * Use the service account's access token upstream, fetched from the metadata server (user
   * `oauth2accesstoken`, as GCR and Artifact Registry accept it), when no `credentials` are given.
   * @default true when the upstream is `gcr.io`, `*.gcr.io` or `*.pkg.dev`
   */
  serviceAccount?: boolean;
  /** Where to reach the metadata server. @default `GCE_METADATA_HOST`, else http://metadata.google.internal */
  metadata?: MetadataOptions;
  /** Project id for trace names. @default `GOOGLE_CLOUD_PROJECT`, else the metadata server's */
  projectId?: string;
  /** Receives each JSON log line (access log and errors). `false` turns logging off. @default stdout / stderr */
  log?: ((line: string, stream: 'stdout' | 'stderr') => void) | false;
}

/** Registries that take a Google access token as the password of `oauth2accesstoken`. */
export function isGoogleRegistry(upstream: string | undefined): boolean {
  if (!upstream) return false;
  let host: string;
  try {
    host = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(upstream) ? upstream : `https://${upstream}`).hostname;
  } catch {
    return false;
  }
  return host === 'gcr.io' || host.endsWith('.gcr.io') || host.endsWith('.pkg.dev');
}

function defaultLog(line: string, stream: 'stdout' | 'stderr'): void {
  (stream === 'stdout' ? process.stdout : process.stderr).write(line);
}

/**
 * The Node adapter as Cloud Run wants it: `0.0.0.0:$PORT`, in-flight pulls drained on SIGTERM
 * within the grace period, upstream credentials from the service account, and JSON log lines
 * that Cloud Logging reads (severity, httpRequest, trace).
 */
export async function serve(options: CloudRunServeOptions = {}): Promise<RunningServer> {
  const env = process.env;
  const {
    serviceAccount,
    metadata = { origin: metadataOriginFromEnv(env) },
    projectId: givenProjectId = env.GOOGLE_CLOUD_PROJECT || undefined,
    log = defaultLog,
    ...nodeOptions
  } = options;
  const proxyOptions: RegistryProxyOptions = nodeOptions;
  const useServiceAccount = serviceAccount ?? (proxyOptions.credentials === undefined && isGoogleRegistry(proxyOptions.upstream));
  if (useServiceAccount && proxyOptions.credentials === undefined) proxyOptions.credentials = metadataCredentials(metadata);

  let projectId = givenProjectId;
  if (projectId === undefined && log) {
    // Only trace names need it: fetched in the background so startup never waits on it.
    fetchProjectId(metadata).then(
      (id) => (projectId = id),
      () => {},
    );
  }
  const onError = nodeOptions.onError;
  return serveNode({
    port: Number(env.PORT || 8080),
    hostname: '0.0.0.0',
    handleSignals: true,
    drainTimeout: CLOUD_RUN_DRAIN_MS,
    ...nodeOptions,
    onRequest: log ? (entry) => log(jsonLine(cloudRequestEntry(entry, projectId)), 'stdout') : undefined,
    onError: (error, request) => {
      if (log) log(jsonLine(cloudErrorEntry(error, request, projectId)), 'stderr');
      onError?.(error, request);
    },
  });
}
