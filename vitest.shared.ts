import { join } from 'node:path';

import { defineConfig } from 'vitest/config';

/**
 * The Vitest settings every workspace project shares (`maxWorkers`: test files run at
 * once, for a project whose tests mostly wait). Workspace packages resolve to
 * their TypeScript sources through the `@twill/source` export condition, so tests
 * need no build first.
 */
export function twillVitestConfig(projectRoot: string, options: { readonly maxWorkers?: number } = {}): ReturnType<typeof defineConfig> {
  return defineConfig({
    root: projectRoot,
    resolve: { conditions: ['@twill/source'] },
    ssr: { resolve: { conditions: ['@twill/source'] } },
    test: {
      include: ['test/**/*.test.ts'],
      globalSetup: [join(import.meta.dirname, 'tools/vitest-global-setup.ts')],
      environment: 'node',
      // Forks, not threads: root tests move threads between network namespaces, and
      // native addons are safest one per process.
      pool: 'forks',
      passWithNoTests: true,
      testTimeout: 30_000,
      hookTimeout: 30_000,
      // Vitest's default on two cores is one file at a time.
      ...(options.maxWorkers === undefined ? {} : { maxWorkers: options.maxWorkers }),
    },
  });
}
