import { defineConfig } from 'vitest/config';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kitResolution } from './harness/tools/impl-resolution.ts';
import { defaultImpl } from './harness/tools/default-impl.ts';

// IMPL selects the implementation the suites run against: `reference` (default; `impl` in a student handout),
// a lab copy such as `labs/2a`, or any directory holding one (outside the repository too).
const root = path.dirname(fileURLToPath(import.meta.url));
const impl = path.resolve(process.env.IMPL ?? defaultImpl(root));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@impl\/(.*)$/, replacement: `${impl}/$1` },
    ],
  },
  plugins: [
    {
      // An implementation outside the repository imports `#proto` and packages as if it were the kit's root
      // (harness/tools/impl-resolution.ts).
      name: 'impl-outside-the-kit',
      enforce: 'pre',
      async resolveId(source, importer) {
        if (importer === undefined || !path.isAbsolute(importer)) return null;
        const instead = kitResolution(source, importer.split('?')[0]!, root);
        if (instead === undefined) return null;
        return this.resolve(instead.specifier, instead.importer, { skipSelf: true });
      },
    },
  ],
  test: {
    include: ['harness/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
  server: { host: '127.0.0.1' },
});
