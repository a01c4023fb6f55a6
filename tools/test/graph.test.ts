import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { mayDependOn, readProjects, workspaceRoot } from '../boundaries.js';

/** Whether a project depends on @twill/sys only as a devDependency (for @twill/sys/testing). */
function testOnly(dir: string): boolean {
  const manifest = JSON.parse(readFileSync(join(workspaceRoot, dir, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  return !manifest.dependencies?.['@twill/sys'] && manifest.devDependencies?.['@twill/sys'] !== undefined;
}

interface Graph {
  graph: {
    nodes: Record<string, { data: { root: string; tags?: string[] } }>;
    dependencies: Record<string, { source: string; target: string }[]>;
  };
}

describe('nx project graph', () => {
  const dir = mkdtempSync(join(tmpdir(), 'twill-graph-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'graph.json');
  execFileSync('npx', ['nx', 'graph', `--file=${file}`], { cwd: workspaceRoot, stdio: 'ignore' });
  const graph = (JSON.parse(readFileSync(file, 'utf8')) as Graph).graph;
  const projects = readProjects();

  it('has every project', () => {
    expect(Object.keys(graph.nodes).sort()).toEqual(projects.map((p) => p.name).sort());
  });

  it('has the edges the packages declare, and none that the boundaries forbid', () => {
    const edges = Object.values(graph.dependencies)
      .flat()
      .filter((d) => d.target.startsWith('@twill/'))
      .map((d) => `${d.source} -> ${d.target}`);
    expect(edges).toContain('@twill/cni-core -> @twill/sys');
    for (const edge of edges) {
      const [source, target] = edge.split(' -> ').map((name) => projects.find((p) => p.name === name)!);
      if (target!.name === '@twill/sys' && testOnly(source!.dir)) continue; // its test helpers
      expect(mayDependOn(source!, target!), edge).toBe(true);
    }
  });
});
