// `npm start`'s prestart: builds dist/ only when a source is newer than it, and quietly (tsup's
// output only on failure), so the proxy's "listening" line is the first thing printed.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SOURCES = ['lib', 'adapters', 'package.json', 'tsconfig.json', 'tsup.config.ts'];
const BUILT = ['dist/cli.js', 'dist/index.js', 'dist/index.d.ts'];

function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

function builtAt() {
  try {
    return Math.min(...BUILT.map((file) => statSync(join(root, file)).mtimeMs));
  } catch {
    return -1; // not built yet
  }
}

if (builtAt() < Math.max(...SOURCES.map((path) => newest(join(root, path))))) {
  try {
    execFileSync(process.execPath, [join(root, 'node_modules', 'tsup', 'dist', 'cli-default.js'), '--silent'], { cwd: root, stdio: 'pipe' });
  } catch (error) {
    process.stderr.write(`registry-proxy: the build failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    process.exit(1);
  }
}
