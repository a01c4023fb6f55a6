import { defineConfig } from 'vitest/config';

// Workspace-wide checks: manifests, module boundaries, the project graph.
// eslint-disable-next-line no-restricted-syntax -- Vitest loads its configuration through a default export.
export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
  },
});
