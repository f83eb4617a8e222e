import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'lib/index.ts',
    node: 'adapters/node.ts',
    cli: 'adapters/cli.ts',
  },
  format: ['esm'],
  dts: { entry: { index: 'lib/index.ts', node: 'adapters/node.ts' } },
  target: 'node20',
  platform: 'node',
  clean: true,
  sourcemap: true,
  splitting: true,
});
