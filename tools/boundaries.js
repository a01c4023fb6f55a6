// Module boundaries: which workspace project may import which, by Nx tags.
//
// Each project's package.json carries `nx.tags`. A project may import another
// workspace package only when, for every one of its tags that has a rule below, the
// target carries one of the allowed tags (the semantics of Nx's depConstraints).
// eslint.config.js turns this into `no-restricted-imports` rules per project, so a
// forbidden import fails `nx lint`; tools/test/boundaries.test.ts proves it.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * @typedef {{ name: string, dir: string, tags: string[] }} Project
 * @typedef {{ sourceTag: string, onlyDependOnLibsWithTags: string[] }} DepConstraint
 */

export const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The dependency direction of ARCHITECTURE.md. @type {DepConstraint[]} */
export const depConstraints = [
  // The native addon and the two pure packages import no other workspace package.
  { sourceTag: 'scope:sys', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'scope:policy-engine', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'scope:bgp', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'scope:flows', onlyDependOnLibsWithTags: [] },
  // The dashboard runs in a browser: it talks to the agent over HTTP, and imports no workspace package.
  { sourceTag: 'scope:ui', onlyDependOnLibsWithTags: [] },
  { sourceTag: 'scope:cni-core', onlyDependOnLibsWithTags: ['scope:sys'] },
  { sourceTag: 'scope:ipam', onlyDependOnLibsWithTags: ['scope:cni-core'] },
  { sourceTag: 'scope:ebpf', onlyDependOnLibsWithTags: ['scope:sys'] },
  // Packages never import apps; apps never import each other.
  { sourceTag: 'type:package', onlyDependOnLibsWithTags: ['type:package'] },
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:package'] },
];

/**
 * Imports allowed only from some folders of a project. cni-core's plumbing for plugin
 * authors lives in its `net/` subpath; everything else in it stays free of native code.
 */
export const folderConstraints = [
  {
    project: '@twill/cni-core',
    modules: ['@twill/sys', 'netlink'],
    onlyIn: ['src/net/**'],
    message: 'only src/net/ of @twill/cni-core may use native code',
  },
];

/** Node modules that touch the kernel, files, sockets or processes: only in sys/ folders. */
export const ioModules = [
  'fs',
  'fs/promises',
  'child_process',
  'net',
  'dgram',
  'tls',
  'http',
  'https',
  'http2',
  'cluster',
];

/**
 * The workspace projects: name, folder (relative to the root) and tags.
 * @returns {Project[]}
 */
export function readProjects(root = workspaceRoot) {
  /** @type {Project[]} */
  const projects = [];
  for (const group of ['packages', 'apps']) {
    const groupDir = join(root, group);
    if (!existsSync(groupDir)) continue;
    for (const dir of readdirSync(groupDir).sort()) {
      const manifest = join(groupDir, dir, 'package.json');
      if (!existsSync(manifest)) continue;
      const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
      projects.push({ name: pkg.name, dir: `${group}/${dir}`, tags: pkg.nx?.tags ?? [] });
    }
  }
  return projects;
}

/**
 * Whether `source` may import `target` under {@link depConstraints}.
 * @param {Project} source
 * @param {Project} target
 */
export function mayDependOn(source, target, constraints = depConstraints) {
  for (const tag of source.tags) {
    for (const rule of constraints) {
      if (rule.sourceTag !== tag) continue;
      if (!rule.onlyDependOnLibsWithTags.some((allowed) => target.tags.includes(allowed))) return false;
    }
  }
  return true;
}

/**
 * For each project, the workspace packages it must not import.
 * @returns {(Project & { forbidden: string[] })[]}
 */
export function forbiddenImports(projects = readProjects()) {
  return projects.map((source) => ({
    ...source,
    forbidden: projects
      .filter((target) => target.name !== source.name && !mayDependOn(source, target))
      .map((target) => target.name),
  }));
}
