import { defineConfig } from 'tsup';

/** One entry per package subpath (`exports` in package.json), plus the two executables. */
const subpaths = {
  index: 'lib/index.ts',
  node: 'adapters/node.ts',
  deno: 'adapters/deno.ts',
  bun: 'adapters/bun.ts',
  'cloud-run': 'adapters/cloud-run.ts',
};

export default defineConfig({
  entry: {
    ...subpaths,
    cli: 'adapters/cli.ts',
    'cloud-run-cli': 'adapters/cloud-run-cli.ts',
  },
  format: ['esm'],
  dts: { entry: subpaths },
  target: 'node20',
  platform: 'node',
  clean: true,
  sourcemap: true,
  splitting: true,
});
