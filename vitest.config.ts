import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['sdk/src/**/*.test.ts', 'gateway/console/src/**/*.test.ts', 'gateway/src/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: more workers only make the WASM and DuckDB work fight for them.
    maxWorkers: 2,
  },
});
