#!/usr/bin/env node
// The CLI on Node (`registry-proxy`, `npm start`): the shared command line on Node's I/O.
import { serve } from './node.ts';
import { processCliHost } from './process-cli-host.ts';
import { runCli } from './run-cli.ts';

await runCli(processCliHost(serve));
