import { defineConfig } from 'tsup';

/** One entry per package subpath (`exports` in package.json), plus the two executables. */
const subpaths = {
  index: 'lib/index.ts',
  node: 'adapters/node/serve.ts',
  deno: 'adapters/deno.ts',
  bun: 'adapters/bun.ts',
  'cloud-run': 'adapters/cloud-run/serve.ts',
};

export default defineConfig({
  entry: {
    ...subpaths,
    cli: 'adapters/cli/node.ts',
    'cloud-run-cli': 'adapters/cli/cloud-run.ts',
  },
  format: ['esm'],
  dts: { entry: subpaths },
  target: 'node20',
  platform: 'node',
  clean: true,
  sourcemap: true,
  splitting: true,
});
