#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { RegistryProxyOptionsError } from '../lib/options.ts';
import { hashPassword } from '../lib/password-hash.ts';
import { applyConfigFile, ConfigError, describeOptionError, parseConfig, usage, type CliConfig } from './config.ts';
import { formatLogLine } from './log-format.ts';
import { serve } from './node.ts';

function fail(message: string): never {
  process.stderr.write(`registry-proxy: ${message}\n`);
  process.exit(2);
}

if (process.argv[2] === 'hash-password') {
  // `registry-proxy hash-password < password.txt`: the password never appears in argv or shell history.
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (password === '') fail('hash-password reads the password from standard input; it was empty');
  process.stdout.write(`${await hashPassword(password)}\n`);
  process.exit(0);
}

let config: CliConfig;
try {
  config = parseConfig(process.argv.slice(2), process.env);
  if (config.configFile) {
    let text: string;
    try {
      text = readFileSync(config.configFile.path, 'utf8');
    } catch (error) {
      throw new ConfigError(config.configFile.source, `could not be read: ${(error as Error).message}`);
    }
    applyConfigFile(config, text, process.env);
  }
} catch (error) {
  if (error instanceof ConfigError) fail(error.message);
  throw error;
}
if (config.help) {
  process.stdout.write(`${usage()}\n`);
  process.exit(0);
}
if (config.passwordFile) {
  const { path, source, username } = config.passwordFile;
  try {
    config.proxy.credentials = { username, password: readFileSync(path, 'utf8').trim() };
  } catch (error) {
    fail(`${source} could not be read: ${(error as Error).message}`);
  }
}

try {
  const format = config.log;
  const server = await serve({
    ...config.proxy,
    port: config.port,
    hostname: config.hostname,
    handleSignals: true,
    onRequest: format === 'off' ? undefined : (entry) => process.stdout.write(formatLogLine(entry, format)),
    onError: (error) => process.stderr.write(`registry-proxy: ${error instanceof Error ? error.message : String(error)}\n`),
  });
  const upstreams = config.proxy.upstreams?.map((route) => route.upstream).join(', ') ?? config.proxy.upstream ?? 'docker.io';
  process.stderr.write(`registry-proxy: listening on ${server.url}, fronting ${upstreams}\n`);
} catch (error) {
  if (error instanceof RegistryProxyOptionsError) fail(describeOptionError(error, config));
  if ((error as { code?: string }).code === 'EADDRINUSE') fail(`port ${config.port} is already in use`);
  throw error;
}
