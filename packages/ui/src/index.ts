/**
 * `@twill/ui`: the dashboard twill-agent serves (service map, live flows, policies, BGP,
 * IPAM). The browser code under `src/app/` is built by Vite into `dist/app/`; this entry
 * tells a server where those files are and how to label them.
 * @packageDocumentation
 */
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The absolute path of the built dashboard (`dist/app/` of this package: `index.html`
 * and `assets/`). It exists once `npm run build` ran in packages/ui; the caller checks.
 */
export function uiAssetsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // From dist/index.js the assets are beside it; from src/index.ts (the workspace's sources) in ../dist.
  return here.endsWith('/dist') ? join(here, 'app') : join(here, '..', 'dist', 'app');
}

/** The content types of the files the build makes, by extension. */
const UI_CONTENT_TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
});

/** The content type of a built file by its name (`application/octet-stream` for an unknown extension). */
export function uiContentType(path: string): string {
  return UI_CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}
