import { describe, expect, it } from 'vitest';

import { EXTERNAL_NODE } from '../../../src/app/model/flow-store.js';
import { groupEndpoints, LAYOUT, layoutMap } from '../../../src/app/model/layout.js';
import { endpoint } from './fixtures.js';

describe('layoutMap', () => {
  const pods = [endpoint('shop', 'web-2'), endpoint('shop', 'db-0'), endpoint('dev', 'tool-1'), endpoint('shop', 'web-1')];

  it('groups by namespace then app, names sorted', () => {
    expect(groupEndpoints(pods).map(([ns, apps]) => [ns, apps.map(([app, list]) => [app, list.map((p) => p.pod)])])).toEqual([
      ['dev', [['tool', ['tool-1']]]],
      ['shop', [['db', ['db-0']], ['web', ['web-1', 'web-2']]]],
    ]);
  });

  it('gives the same picture whatever order the endpoints come in', () => {
    expect(layoutMap([...pods].reverse())).toEqual(layoutMap(pods));
  });

  it('places every pod once, inside its namespace box, and the external node', () => {
    const layout = layoutMap(pods);
    expect(layout.nodes.map((n) => n.key).sort()).toEqual(['dev/tool-1', EXTERNAL_NODE, 'shop/db-0', 'shop/web-1', 'shop/web-2']);
    for (const node of layout.nodes) {
      const box = layout.groups.find((g) => g.namespace === node.namespace)!;
      expect(node.x).toBeGreaterThan(box.x);
      expect(node.x).toBeLessThan(box.x + box.width);
      expect(node.y).toBeGreaterThan(box.y);
      expect(node.y).toBeLessThan(box.y + box.height);
    }
    expect(layout.width).toBeGreaterThan(0);
  });

  it('keeps pods apart: no two closer than the spacing', () => {
    const many = Array.from({ length: 1000 }, (_, i) => endpoint(`ns-${i % 20}`, `app${i % 7}-${i}`));
    const layout = layoutMap(many);
    expect(layout.nodes).toHaveLength(1001);
    for (const box of layout.groups) {
      const inside = layout.nodes.filter((n) => n.namespace === box.namespace);
      for (const [i, a] of inside.entries()) for (const b of inside.slice(i + 1)) {
        expect(Math.hypot(a.x - b.x, a.y - b.y), `${a.key} and ${b.key}`).toBeGreaterThanOrEqual(LAYOUT.spacing);
      }
    }
    const boxes = layout.groups;
    for (const a of boxes) for (const b of boxes) {
      if (a === b) continue;
      const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
      expect(apart, `${a.namespace} and ${b.namespace} overlap`).toBe(true);
    }
    expect(LAYOUT.spacing).toBeGreaterThan(LAYOUT.radius * 2);
  });
});
