import { defineConfig } from 'vitest/config';
import path from 'node:path';

// IMPL selects the implementation the suites run against: `reference` (default) or a lab copy such as `labs/2a`.
const impl = path.resolve(process.env.IMPL ?? 'reference');

export default defineConfig({
  resolve: {
    alias: [{ find: /^@impl\/(.*)$/, replacement: `${impl}/$1` }],
  },
  test: {
    include: ['harness/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
  server: { host: '127.0.0.1' },
});
