import { readFileSync } from 'node:fs';
import process from 'node:process';
import { text } from 'node:stream/consumers';
import type { CliHost } from './run.ts';

/** The CLI's I/O on runtimes with Node's `process` and `node:fs` (Node itself, Bun, Cloud Run). */
export function processCliHost(serve: CliHost['serve'], env: CliHost['env'] = process.env): CliHost {
  return {
    argv: process.argv.slice(2),
    env,
    readTextFile: (path) => readFileSync(path, 'utf8'),
    readStdin: () => text(process.stdin),
    stdout: (line) => void process.stdout.write(line),
    stderr: (line) => void process.stderr.write(line),
    exit: (code) => process.exit(code),
    serve,
  };
}
