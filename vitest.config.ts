import { defineConfig } from 'vitest/config'

// Three projects, one per kind of test (CONVENTIONS "Tests"):
// unit: pure modules; sim: the deterministic multi-node simulation;
// integration: real libp2p nodes, in-process and as child processes.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'sim',
          include: ['test/sim/**/*.test.ts'],
          testTimeout: 600_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 60_000,
          // Real sockets and child processes: one file at a time keeps a
          // 2-core machine from starving the nodes under test.
          fileParallelism: false,
        },
      },
    ],
  },
})
