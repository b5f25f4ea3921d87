import { defineConfig } from 'vitest/config';

// pnpm test:chaos: fault scenarios against a whole stack (test/chaos/*.test.ts, one scenario per file, the
// shared stack in test/chaos/stack.ts). Run after the main suite by .ci/run; 12 scenarios took 149 s on 2 cores
// (2026-12-01, load 7 falling to 2), and the 3 added since (redis-oom, sigterm, decode-memory) 137 s on their own
// (load 12 falling to 11): about 4.5 minutes in all, inside CI's 10 (docs/reliability.md).
export default defineConfig({
  test: {
    include: ['test/chaos/*.test.ts'],
    testTimeout: 240_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    env: { NODE_OPTIONS: '--openssl-legacy-provider' },
  },
});
