// The CLI on the Node adapter with `serve({ fetch })`: a custom upstream fetch (here Node's own
// fetch), so upstream bodies are web streams checked by lib/ and relayed through the adapter's
// web-stream path rather than its direct pipe. Run by the fault suite on Node 24.
import { serve } from '../../adapters/node/serve.ts';
import { processCliHost } from '../../adapters/cli/process-host.ts';
import { runCli } from '../../adapters/cli/run.ts';

await runCli(processCliHost((options) => serve({ ...options, fetch: (input, init) => globalThis.fetch(input, init) })));
