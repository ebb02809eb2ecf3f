import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Kernel tests share namespaces names per file; files run in parallel but each uses its own names.
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
