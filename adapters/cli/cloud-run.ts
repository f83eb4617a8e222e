#!/usr/bin/env node
// The Cloud Run entry (the Dockerfile's CMD): the same flags and variables as the CLI, plus
// REGISTRY_PROXY_SERVICE_ACCOUNT=true|false to force the metadata-server credentials on or off.
import process from 'node:process';
import { serve } from '../cloud-run/serve.ts';
import { jsonLine } from '../log-entry.ts';
import { processCliHost } from './process-host.ts';
import { runCli } from './run.ts';

const env = process.env;
const flag = env.REGISTRY_PROXY_SERVICE_ACCOUNT;
const serviceAccount = flag === undefined || flag === '' ? undefined : /^(1|true|yes|on)$/i.test(flag);
const log = (line: string, stream: 'stdout' | 'stderr') => void (stream === 'stdout' ? process.stdout : process.stderr).write(line);

const host = processCliHost(
  // The CLI's own access log and error lines are replaced by Cloud Logging entries with trace ids.
  ({ onRequest, onError: _onError, ...options }) =>
    serve({
      ...options,
      ...(serviceAccount !== undefined ? { serviceAccount } : {}),
      log: onRequest ? log : false,
    }),
  // Cloud Run reads JSON lines; `--log text` still works for a local run.
  { REGISTRY_PROXY_LOG: 'json', ...env },
);
await runCli({
  ...host,
  // Everything the CLI says (startup, bad options) becomes a Cloud Logging entry too.
  stderr: (text) => log(jsonLine({ severity: /listening on/.test(text) ? 'INFO' : 'ERROR', message: text.trim() }), 'stderr'),
});
