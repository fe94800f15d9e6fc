import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: run test files in two forked processes (workers use threads of their own).
    pool: 'forks',
    maxWorkers: 2,
  },
})
