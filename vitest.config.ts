import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          // The handler against msw upstreams, and the mocks' own self-checks beside them.
          include: ['test/unit/**/*.test.ts', 'test/upstreams/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'packaging',
          // Builds, packs, installs and starts the package in scratch folders: seconds, not milliseconds.
          include: ['test/packaging/**/*.test.ts'],
          testTimeout: 200_000,
          hookTimeout: 200_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Real registries, real skopeo: slower than unit tests, and they share ports/processes.
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
      {
        test: {
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          // Every runtime's real server against misbehaving fake upstreams: one worker per
          // runtime file (files run side by side where there are cores); cases in order within
          // a file, since each checks the stderr of its own window.
          testTimeout: 60_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // Every runtime as a child process against real registries and skopeo: one file at a time.
          testTimeout: 120_000,
          hookTimeout: 180_000,
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
