// The dashboard's browser build: src/app/index.html and what it imports, bundled into
// dist/app/ with relative asset URLs (the agent serves them from any path prefix). JSX
// compiles to Preact's automatic runtime; nothing is fetched from a CDN.
import { join } from 'node:path';

import { defineConfig } from 'vite';

// Vite loads its configuration through a default export.
// eslint-disable-next-line no-restricted-syntax
export default defineConfig({
  root: join(import.meta.dirname, 'src/app'),
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: join(import.meta.dirname, 'dist/app'),
    emptyOutDir: true,
    sourcemap: false,
    // One small bundle: no preload polyfill reaching for other origins.
    modulePreload: false,
    assetsInlineLimit: 0,
  },
});
