// A worker that creates the proxy at module top level, as the README's Workers line does (once
// per isolate, before any request), with its options from text bindings read through
// `cloudflare:workers`: AUTH_USERS (JSON users, no tokenSecret; anonymous pulls refused),
// IDLE_TIMEOUT, HEADERS_TIMEOUT.
import { env } from 'cloudflare:workers';
import { createRegistryProxy } from '../../../lib/index.ts';

const users = env.AUTH_USERS ? (JSON.parse(env.AUTH_USERS) as Record<string, { passwordHash: string }>) : undefined;

export default {
  fetch: createRegistryProxy({
    upstream: env.UPSTREAM,
    auth: users && { users },
    anonymousPull: !users,
    timeouts: { idle: Number(env.IDLE_TIMEOUT ?? 60_000), headers: Number(env.HEADERS_TIMEOUT ?? 30_000) },
  }),
};
