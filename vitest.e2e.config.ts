import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

// `make e2e`: the end-to-end test of a real cluster of processes (harness/real-cluster/*.e2e.ts), run on its
// own: it is not part of `npm test` while it fails on some runs (see GUIDE.md, "Running a real cluster").
export default defineConfig({ ...base, test: { ...base.test, include: ['harness/real-cluster/*.e2e.ts'] } });
