import { defineConfig } from 'vitest/config';

// `npm run test:reliability`: the long scenarios (repeated crashes, load), one file at a time.
export default defineConfig({
  test: {
    include: ['test/reliability/long/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 120_000,
  },
});
