// The service map's layout: deterministic (the same endpoints give the same picture on
// every load, whatever order they came in), a grid of namespace boxes, each with its
// apps one under the other and the app's pods in rows. Flows to or from addresses of no
// pod go to one `external` node in its own box. Pure; units are SVG user units.
import { EXTERNAL_NODE } from './flow-store.js';
import { type UiEndpoint } from './types.js';

/** Sizes of the layout (SVG user units). */
export const LAYOUT = Object.freeze({
  /** Distance between two pods' centres. */
  spacing: 26,
  /** A pod's circle radius. */
  radius: 7,
  /** Pods per row in an app. */
  podsPerRow: 8,
  /** Inside a namespace box: padding, and the height of the namespace's and an app's title. */
  padding: 12,
  titleHeight: 20,
  appTitleHeight: 16,
  /** Between namespace boxes. */
  gap: 24,
});

/** A pod (or the external node) on the map. */
export interface MapNode {
  /** `namespace/pod`, or `external`. */
  readonly key: string;
  readonly x: number;
  readonly y: number;
  readonly namespace: string;
  readonly app: string;
  readonly label: string;
}

/** An app's title in its namespace box. */
export interface MapApp {
  readonly app: string;
  readonly x: number;
  readonly y: number;
  readonly pods: number;
}

/** A namespace box. */
export interface MapGroup {
  readonly namespace: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly apps: readonly MapApp[];
}

/** The whole map. */
export interface MapLayout {
  readonly width: number;
  readonly height: number;
  readonly groups: readonly MapGroup[];
  readonly nodes: readonly MapNode[];
  /** Node positions by key. */
  readonly positions: ReadonlyMap<string, MapNode>;
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The namespace → app → pods tree, sorted by name at each level. */
export function groupEndpoints(endpoints: readonly UiEndpoint[]): [string, [string, UiEndpoint[]][]][] {
  const namespaces = new Map<string, Map<string, UiEndpoint[]>>();
  for (const endpoint of endpoints) {
    let apps = namespaces.get(endpoint.namespace);
    if (apps === undefined) namespaces.set(endpoint.namespace, (apps = new Map()));
    let pods = apps.get(endpoint.app);
    if (pods === undefined) apps.set(endpoint.app, (pods = []));
    pods.push(endpoint);
  }
  return [...namespaces.entries()]
    .sort(([a], [b]) => byText(a, b))
    .map(([namespace, apps]) => [namespace, [...apps.entries()].sort(([a], [b]) => byText(a, b)).map(([app, pods]) => [app, [...pods].sort((a, b) => byText(a.pod, b.pod))])]);
}

/**
 * Lays out the endpoints (and the external node): namespace boxes in rows of
 * ⌈√n⌉, each box as wide as its widest app.
 */
export function layoutMap(endpoints: readonly UiEndpoint[]): MapLayout {
  const { spacing, podsPerRow, padding, titleHeight, appTitleHeight, gap } = LAYOUT;
  const tree = groupEndpoints(endpoints);
  const boxes = tree.map(([namespace, apps]) => {
    const columns = Math.min(podsPerRow, Math.max(1, ...apps.map(([, pods]) => pods.length)));
    const height = titleHeight + apps.reduce((sum, [, pods]) => sum + appTitleHeight + Math.ceil(pods.length / podsPerRow) * spacing, 0) + padding;
    return { namespace, apps, width: Math.max(140, padding * 2 + columns * spacing), height };
  });
  // The external node's box comes last.
  const external = { namespace: '', apps: [] as [string, UiEndpoint[]][], width: 140, height: titleHeight + appTitleHeight + spacing + padding };
  const all = [...boxes, external];
  const perRow = Math.max(1, Math.ceil(Math.sqrt(all.length)));
  const groups: MapGroup[] = [];
  const nodes: MapNode[] = [];
  let y = gap;
  let width = 0;
  for (let row = 0; row * perRow < all.length; row++) {
    const items = all.slice(row * perRow, row * perRow + perRow);
    let x = gap;
    for (const box of items) {
      const apps: MapApp[] = [];
      let cursor = y + titleHeight;
      if (box === external) {
        apps.push({ app: 'outside the cluster', x: x + padding, y: cursor + appTitleHeight - 4, pods: 1 });
        nodes.push({ key: EXTERNAL_NODE, x: x + padding + spacing / 2, y: cursor + appTitleHeight + spacing / 2, namespace: '', app: '', label: 'external (world, hosts)' });
      }
      for (const [app, pods] of box.apps) {
        apps.push({ app, x: x + padding, y: cursor + appTitleHeight - 4, pods: pods.length });
        cursor += appTitleHeight;
        pods.forEach((pod, i) => {
          nodes.push({
            key: `${pod.namespace}/${pod.pod}`,
            x: x + padding + (i % podsPerRow) * spacing + spacing / 2,
            y: cursor + Math.floor(i / podsPerRow) * spacing + spacing / 2,
            namespace: pod.namespace,
            app,
            label: `${pod.namespace}/${pod.pod}`,
          });
        });
        cursor += Math.ceil(pods.length / podsPerRow) * spacing;
      }
      groups.push({ namespace: box === external ? '' : box.namespace, x, y, width: box.width, height: box.height, apps });
      x += box.width + gap;
    }
    width = Math.max(width, x);
    y += Math.max(...items.map((b) => b.height)) + gap;
  }
  return { width, height: y, groups, nodes, positions: new Map(nodes.map((n) => [n.key, n])) };
}
