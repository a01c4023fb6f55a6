import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { mayDependOn, readProjects, workspaceRoot } from '../boundaries.js';

interface Manifest {
  name: string;
  type?: string;
  private?: boolean;
  engines?: { node?: string };
  files?: string[];
  exports?: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  nx?: { tags?: string[] };
}

const projects = readProjects();
const read = (dir: string): Manifest =>
  JSON.parse(readFileSync(join(workspaceRoot, dir, 'package.json'), 'utf8')) as Manifest;

describe('the workspace', () => {
  // ARCHITECTURE.md's eight, @twill/flows: the flow record and observer API that the
  // agent serves and the CLI reads (apps never import each other, so it is a package),
  // and @twill/ui: the dashboard's built assets, which the agent serves.
  it('has the projects of ARCHITECTURE.md, @twill/flows and @twill/ui', () => {
    expect(projects.map((p) => p.dir)).toEqual([
      'packages/bgp',
      'packages/cni-core',
      'packages/ebpf',
      'packages/flows',
      'packages/ipam',
      'packages/policy-engine',
      'packages/sys',
      'packages/ui',
      'apps/agent',
      'apps/cli',
    ]);
  });
});

describe.each(projects.map((p) => [p.dir, p] as const))('%s', (dir, project) => {
  const manifest = read(dir);

  it('is an ESM package named @twill/<folder> for Node 20 and later', () => {
    expect(manifest.name).toBe(`@twill/${dir.split('/')[1]}`);
    expect(manifest.type).toBe('module');
    expect(manifest.engines?.node).toBe('>=20');
  });

  it('exports entry points with types, sources for the workspace, and files to publish', () => {
    expect(manifest.files).toContain('dist');
    const entries = Object.entries(manifest.exports ?? {}).filter(([key]) => key !== './package.json');
    expect(entries.map(([key]) => key)).toContain('.');
    for (const [key, target] of entries) {
      expect(typeof target, key).toBe('object');
      const conditions = target as Record<string, string>;
      expect(Object.keys(conditions), key).toEqual(['@twill/source', 'types', 'import']);
      expect(conditions['@twill/source']).toMatch(/^\.\/src\/.*\.ts$/);
      expect(conditions['types']).toBe(conditions['@twill/source']!.replace('./src/', './dist/').replace(/\.ts$/, '.d.ts'));
      expect(conditions['import']).toBe(conditions['@twill/source']!.replace('./src/', './dist/').replace(/\.ts$/, '.js'));
    }
    const main = (manifest.exports?.['.'] as Record<string, string>)['@twill/source']!;
    expect(existsSync(join(workspaceRoot, dir, main))).toBe(true);
  });

  it('has its tsconfigs, tests folder and nx tags', () => {
    for (const file of ['tsconfig.json', 'tsconfig.lib.json', 'vitest.config.ts', 'test']) {
      expect(existsSync(join(workspaceRoot, dir, file)), file).toBe(true);
    }
    expect(project.tags.some((t) => t.startsWith('type:'))).toBe(true);
    expect(project.tags).toContain(`scope:${dir.split('/')[1]}`);
  });

  it('declares only workspace dependencies its tags allow', () => {
    // A devDependency on @twill/sys is for its test helpers (@twill/sys/testing) only;
    // lint keeps the sources from importing it.
    const dev = Object.keys(manifest.devDependencies ?? {}).filter((name) => name !== '@twill/sys');
    const declared = [...Object.keys(manifest.dependencies ?? {}), ...dev];
    for (const target of projects.filter((p) => declared.includes(p.name))) {
      expect(mayDependOn(project, target), `${project.name} -> ${target.name}`).toBe(true);
    }
  });
});
