import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests that start nginx, PostgreSQL databases or Chromium share two cores: keep the
    // file-level parallelism modest so timings stay far from the limits.
    maxWorkers: 2,
    sequence: { hooks: 'stack' },
  },
});
