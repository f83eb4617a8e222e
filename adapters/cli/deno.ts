#!/usr/bin/env -S deno run --allow-net --allow-env --allow-read
// The CLI on Deno: `deno run -A adapters/deno-cli.ts --upstream ghcr.io` (imports from deno.json).
import { serve } from '../deno.ts';
import { runCli } from './run.ts';

/** The parts of the `Deno` global the CLI uses, typed here so no Deno types are needed. */
interface DenoCliGlobal {
  args: string[];
  env: { toObject(): Record<string, string> };
  readTextFileSync(path: string): string;
  stdin: { readable: ReadableStream<Uint8Array> };
  stdout: { writeSync(data: Uint8Array): number };
  stderr: { writeSync(data: Uint8Array): number };
  exit(code: number): never;
}

const deno = (globalThis as unknown as { Deno: DenoCliGlobal }).Deno;
const encoder = new TextEncoder();

/** writeSync may write only part of the bytes (a pipe that is full). */
function writeAll(stream: { writeSync(data: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
}

await runCli({
  argv: deno.args,
  env: deno.env.toObject(),
  readTextFile: (path) => deno.readTextFileSync(path),
  readStdin: () => new Response(deno.stdin.readable).text(),
  stdout: (text) => writeAll(deno.stdout, text),
  stderr: (text) => writeAll(deno.stderr, text),
  exit: (code) => deno.exit(code),
  serve,
});
