import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const runtimeSpecific = {
  patterns: [{ group: ['node:*'], message: 'lib/ is web-standard only: no node:* imports (adapters/ may use them).' }],
  paths: ['fs', 'path', 'http', 'https', 'net', 'crypto', 'stream', 'buffer', 'os', 'url', 'util', 'child_process', 'events'].map(
    (name) => ({ name, message: 'lib/ is web-standard only: no Node built-ins.' }),
  ),
};

/** Forbids imports across a folder boundary; `../context.ts` stays importable for its types. */
function boundary(files, message, group) {
  return {
    files: [files],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group, message },
            { group: ['../context.ts'], allowTypeImports: true, message: `${message}; context.ts only for its types` },
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.runtimes/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', runtimeSpecific],
      'no-restricted-globals': [
        'error',
        { name: 'Deno', message: 'lib/ is runtime-agnostic: no Deno globals.' },
        { name: 'Bun', message: 'lib/ is runtime-agnostic: no Bun globals.' },
        { name: 'process', message: 'lib/ never reads the environment or the process.' },
        { name: 'Buffer', message: 'lib/ is web-standard only: use Uint8Array.' },
        { name: 'require', message: 'lib/ is ESM and web-standard only.' },
      ],
    },
  },
  // Import boundaries between lib/'s folders (ARCHITECTURE.md): each layer imports only those
  // below it, so no two folders import each other. options/types.ts and options/error.ts are the
  // leaves every layer may use; the composition root's context.ts may be imported for types only.
  boundary('lib/protocol/**/*.ts', 'protocol/ is the registry grammar: it imports nothing else from lib/', ['../**']),
  boundary('lib/options/types.ts', 'options/types.ts is the leaf every layer imports: it imports nothing', ['./*', '../**']),
  boundary('lib/options/error.ts', 'options/error.ts is a leaf: it imports nothing', ['./*', '../**']),
  boundary('lib/auth/**/*.ts', 'auth/ (the proxy\'s own clients) sees protocol/ and option types, never upstream/ or the router', [
    '../upstream/*', '../options/resolve.ts', '../routes.ts', '../handler.ts', '../index.ts',
  ]),
  boundary('lib/upstream/**/*.ts', 'upstream/ (talking to the upstream) sees protocol/ and option types, never auth/ or the router', [
    '../auth/*', '../options/resolve.ts', '../routes.ts', '../handler.ts', '../index.ts',
  ]),
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly', fetch: 'readonly' } },
  },
);
