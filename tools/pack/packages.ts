// The packages this repository publishes, and what their tarballs must and must not hold.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { workspaceRoot } from '../boundaries.js';

/** Packages under packages/ that are not published yet, and why. */
export const NOT_PUBLISHED_YET: Readonly<Record<string, string>> = {
  '@twill/flows': 'new this session; its README and API are not settled',
};

/**
 * The export condition that points the workspace at TypeScript sources. It stays in the
 * published `exports` although src/ is not in the tarballs: Node, TypeScript and bundlers
 * apply a custom condition only when asked (`--conditions=@twill/source`,
 * `customConditions`), and nobody outside this repository asks for one named after it, so
 * a consumer always falls through to `types` and `import` (the pack test resolves every
 * export in a fresh project to check it). Stripping it at pack time would mean rewriting
 * package.json in prepack and restoring it in postpack: a manifest that differs from the
 * one tested, left rewritten when a pack is interrupted.
 */
export const SOURCE_CONDITION = '@twill/source';

/** What a package.json says that packing depends on. */
export interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly files?: readonly string[];
  readonly exports?: Readonly<Record<string, unknown>>;
  readonly bin?: Readonly<Record<string, string>>;
  readonly publishConfig?: { readonly access?: string };
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly scripts?: Readonly<Record<string, string>>;
}

/** A publishable package: its folder (absolute) and manifest. */
export interface PublishedPackage {
  readonly dir: string;
  readonly manifest: Manifest;
}

/** Every package under packages/ that is published, in folder order. */
export function publishedPackages(): PublishedPackage[] {
  const root = join(workspaceRoot, 'packages');
  return readdirSync(root)
    .filter((name) => existsSync(join(root, name, 'package.json')))
    .map((name) => {
      const dir = join(root, name);
      return { dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest };
    })
    .filter((p) => !p.manifest.private && !(p.manifest.name in NOT_PUBLISHED_YET));
}

/** Every file an `exports` map points at under the default conditions, one per subpath and condition. */
export function exportTargets(manifest: Manifest): { subpath: string; condition: string; target: string }[] {
  const targets: { subpath: string; condition: string; target: string }[] = [];
  for (const [subpath, value] of Object.entries(manifest.exports ?? {})) {
    if (typeof value === 'string') {
      targets.push({ subpath, condition: 'default', target: value });
      continue;
    }
    for (const [condition, target] of Object.entries(value as Record<string, unknown>)) {
      if (typeof target !== 'string') throw new Error(`${manifest.name}: exports["${subpath}"]["${condition}"] is not a path`);
      targets.push({ subpath, condition, target });
    }
  }
  return targets;
}

/** One packed tarball: its path and the files it holds (relative to the package root). */
export interface Packed {
  readonly tarball: string;
  readonly files: readonly string[];
}

/** `npm pack` one package into `destination`. */
export function pack(pkg: PublishedPackage, destination: string): Packed {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', destination], {
    cwd: pkg.dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [result] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  if (!result) throw new Error(`npm pack in ${pkg.dir} printed no result`);
  return { tarball: join(destination, result.filename), files: result.files.map((f) => f.path).sort() };
}

/**
 * What is wrong with a tarball's contents: files that must not ship (tests, sources,
 * maps, build info, a local native build) and compiled files without a source (left in
 * dist/ by a source that was deleted or moved). Empty when it is right.
 */
export function tarballProblems(pkg: PublishedPackage, files: readonly string[]): string[] {
  const problems: string[] = [];
  const has = new Set(files);
  for (const f of files) {
    if (/(^|\/)(test|tests|__tests__)\//.test(f) || /\.(test|spec)\.[cm]?[jt]s$/.test(f)) problems.push(`${f}: a test`);
    else if (f.startsWith('src/')) problems.push(`${f}: a TypeScript source`);
    else if (f.endsWith('.map')) problems.push(`${f}: a source map`);
    else if (f.endsWith('.tsbuildinfo')) problems.push(`${f}: TypeScript build info`);
    else if (f.startsWith('build/')) problems.push(`${f}: a local native build (the package builds on install)`);
    else if (f.startsWith('node_modules/')) problems.push(`${f}: node_modules`);
    const compiled = /^dist\/(.*)\.(js|d\.ts)$/.exec(f);
    if (compiled && !existsSync(join(pkg.dir, 'src', `${compiled[1]}.ts`))) {
      problems.push(`${f}: no src/${compiled[1]}.ts (a stale build: run \`npm run build\` in ${pkg.dir})`);
    }
  }
  for (const required of ['package.json', 'README.md', 'CHANGELOG.md']) {
    if (!has.has(required)) problems.push(`${required}: missing`);
  }
  for (const { subpath, condition, target } of exportTargets(pkg.manifest)) {
    if (condition === SOURCE_CONDITION) continue;
    const file = target.replace(/^\.\//, '');
    if (!has.has(file)) problems.push(`exports["${subpath}"].${condition} -> ${target}: not in the tarball`);
  }
  for (const [name, target] of Object.entries(pkg.manifest.bin ?? {})) {
    if (!has.has(target.replace(/^\.\//, ''))) problems.push(`bin ${name} -> ${target}: not in the tarball`);
  }
  return problems;
}
