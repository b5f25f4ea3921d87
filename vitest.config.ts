import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // The chaos scenarios run on their own (pnpm test:chaos, vitest.chaos.config.ts).
    exclude: [...configDefaults.exclude, 'test/chaos/**'],
    // Integration tests start servers and worker threads; 2-core machines need generous limits.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Test files spawn their own pools, Redis servers and s3rver instances: run files one at a time on 2 cores.
    fileParallelism: false,
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    env: { NODE_OPTIONS: '--openssl-legacy-provider' },
  },
});
