#!/usr/bin/env bun
// The CLI on Bun: `bun adapters/bun-cli.ts --upstream ghcr.io`. Bun implements the node:
// modules the CLI uses, so only `serve` differs from the Node CLI.
import { serve } from '../bun.ts';
import { processCliHost } from './process-host.ts';
import { runCli } from './run.ts';

await runCli(processCliHost(serve));
