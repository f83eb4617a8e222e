import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const runtimeSpecific = {
  patterns: [{ group: ['node:*'], message: 'lib/ is web-standard only: no node:* imports (adapters/ may use them).' }],
  paths: ['fs', 'path', 'http', 'https', 'net', 'crypto', 'stream', 'buffer', 'os', 'url', 'util', 'child_process', 'events'].map(
    (name) => ({ name, message: 'lib/ is web-standard only: no Node built-ins.' }),
  ),
};

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
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly', fetch: 'readonly' } },
  },
);
