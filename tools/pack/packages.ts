// The packages this repository publishes, and what their tarballs must and must not hold.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { workspaceRoot } from '../boundaries.js';
import { runOk } from './install.js';

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
  readonly license?: string;
  readonly files?: readonly string[];
  readonly exports?: Readonly<Record<string, unknown>>;
  readonly bin?: Readonly<Record<string, string>>;
  readonly publishConfig?: { readonly access?: string };
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly scripts?: Readonly<Record<string, string>>;
}

/** A package of the workspace that is packed: its folder (absolute) and manifest. */
export interface WorkspacePackage {
  readonly dir: string;
  readonly manifest: Manifest;
}

function readPackage(dir: string): WorkspacePackage {
  return { dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest };
}

/** Every package under packages/ that is published (not private), in folder order. */
export function publishedPackages(): WorkspacePackage[] {
  const root = join(workspaceRoot, 'packages');
  return readdirSync(root)
    .filter((name) => existsSync(join(root, name, 'package.json')))
    .map((name) => readPackage(join(root, name)))
    .filter((p) => !p.manifest.private);
}

/**
 * `roots` and every workspace package they depend on, transitively, each once: what a
 * user's install of the roots needs besides the registry (@twill/ui, private, is one).
 */
export function withWorkspaceDependencies(roots: readonly WorkspacePackage[]): WorkspacePackage[] {
  const all = new Map(
    ['packages', 'apps'].flatMap((folder) =>
      readdirSync(join(workspaceRoot, folder))
        .filter((name) => existsSync(join(workspaceRoot, folder, name, 'package.json')))
        .map((name) => readPackage(join(workspaceRoot, folder, name)))
        .map((pkg) => [pkg.manifest.name, pkg] as const),
    ),
  );
  const found = new Map<string, WorkspacePackage>();
  const visit = (pkg: WorkspacePackage): void => {
    if (found.has(pkg.manifest.name)) return;
    found.set(pkg.manifest.name, pkg);
    for (const dep of Object.keys(pkg.manifest.dependencies ?? {})) {
      const sibling = all.get(dep);
      if (sibling) visit(sibling);
    }
  };
  roots.forEach(visit);
  return [...found.values()];
}

/**
 * The apps a user installs globally for their commands: the CLI (`twill`) and the agent
 * (`twill-agent`, `twill-cni`). Private (not on the registry yet), but packed like the packages.
 */
export function globalApps(): WorkspacePackage[] {
  return ['cli', 'agent'].map((name) => readPackage(join(workspaceRoot, 'apps', name)));
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
export async function pack(pkg: WorkspacePackage, destination: string): Promise<Packed> {
  const out = await runOk('npm', ['pack', '--json', '--pack-destination', destination], pkg.dir);
  const [result] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  if (!result) throw new Error(`npm pack in ${pkg.dir} printed no result`);
  return { tarball: join(destination, result.filename), files: result.files.map((f) => f.path).sort() };
}

/**
 * What is wrong with a tarball's contents: files that must not ship (tests, sources,
 * maps, build info, a local native build), files that must (package.json, README,
 * LICENSE, a published package's CHANGELOG, export and bin targets), and compiled
 * files without a source (left in dist/ by a source that was deleted or moved). Empty
 * when it is right.
 */
export function tarballProblems(pkg: WorkspacePackage, files: readonly string[]): string[] {
  const problems: string[] = [];
  const has = new Set(files);
  for (const f of files) {
    if (/(^|\/)(test|tests|__tests__)\//.test(f) || /\.(test|spec)\.[cm]?[jt]s$/.test(f)) problems.push(`${f}: a test`);
    else if (f.startsWith('src/')) problems.push(`${f}: a TypeScript source`);
    else if (f.endsWith('.map')) problems.push(`${f}: a source map`);
    else if (f.endsWith('.tsbuildinfo')) problems.push(`${f}: TypeScript build info`);
    // BPF objects are bytecode for the kernel's verifier, not this machine's CPU: they ship.
    else if (f.startsWith('build/') && !f.startsWith('build/bpf/')) problems.push(`${f}: a local native build (the package builds on install)`);
    else if (f.startsWith('node_modules/')) problems.push(`${f}: node_modules`);
    // tsc's output comes in pairs (x.js, x.d.ts); a bundler's (Vite's dist/app) has no declarations.
    const compiled = /^dist\/(.*)\.(js|d\.ts)$/.exec(f);
    const fromTsc = compiled !== null && has.has(`dist/${compiled[1]}.d.ts`);
    if (compiled && fromTsc && !['ts', 'tsx'].some((ext) => existsSync(join(pkg.dir, 'src', `${compiled[1]}.${ext}`)))) {
      problems.push(`${f}: no src/${compiled[1]}.ts(x) (a stale build: run \`npm run build\` in ${pkg.dir})`);
    }
  }
  // Changesets writes the CHANGELOG of a published package; npm always packs a LICENSE file.
  for (const required of ['package.json', 'README.md', 'LICENSE', ...(pkg.manifest.private ? [] : ['CHANGELOG.md'])]) {
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
