#!/usr/bin/env node
// The CLI on Node (`registry-proxy`, `npm start`): the shared command line on Node's I/O.
import { serve } from '../node/serve.ts';
import { processCliHost } from './process-host.ts';
import { runCli } from './run.ts';

await runCli(processCliHost(serve));
