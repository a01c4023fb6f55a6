// The seed tutorial's roles as lab pods: which namespace, name and labels each pod gets,
// so that the tutorial's policies select them exactly as written (Calico's
// `allow-api-access` in `production` selects `app == "api-server"`, its sources
// `app == "frontend"` and destinations `app == "database"`; Cilium's `l7-api-policy` in
// `default` selects `app: api` and admits `app: frontend`).

import { type LabNamespaceSpec, type LabPodSpec } from '../ports.js';

/** What a pod of the demonstration serves. */
export const DEMO_ROLE = {
  /** HTTP on 80: a page. */
  FRONTEND: 'frontend',
  /** HTTP on 8080: the `/api/v1/...` JSON API (Calico's story, namespace `production`). */
  API_SERVER: 'api-server',
  /** HTTP on 8080: the same API, selected by Cilium's `l7-api-policy` (namespace `default`). */
  API: 'api',
  /** TCP on 5432: a fixed greeting line. */
  DATABASE: 'database',
} as const;

/** One of {@link DEMO_ROLE}. */
export type DemoRole = (typeof DEMO_ROLE)[keyof typeof DEMO_ROLE];

/** How a role is served: its port and whether it speaks HTTP. */
export interface RoleService {
  readonly port: number;
  readonly protocol: 'http' | 'tcp';
}

/** The port and protocol of each role. */
export const ROLE_SERVICES: Readonly<Record<DemoRole, RoleService>> = {
  frontend: { port: 80, protocol: 'http' },
  'api-server': { port: 8080, protocol: 'http' },
  api: { port: 8080, protocol: 'http' },
  database: { port: 5432, protocol: 'tcp' },
};

/** The label every demonstration pod carries with its role (its `app` label may differ: `web` pods are `app: frontend`). */
export const ROLE_LABEL = 'twill.io/demo-role';

interface RoleTemplate {
  readonly role: DemoRole;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

// The order pods are handed out in: the five that tell the story first, then replicas.
const TEMPLATES: readonly RoleTemplate[] = [
  { role: 'frontend', namespace: 'production', name: 'frontend', labels: { app: 'frontend', tier: 'frontend' } },
  { role: 'api-server', namespace: 'production', name: 'api-server', labels: { app: 'api-server', tier: 'backend' } },
  { role: 'database', namespace: 'production', name: 'database', labels: { app: 'database', tier: 'database' } },
  // The Cilium policy's namespace: a frontend it admits (app: frontend) and the API it guards (app: api).
  { role: 'frontend', namespace: 'default', name: 'web', labels: { app: 'frontend', tier: 'frontend' } },
  { role: 'api', namespace: 'default', name: 'api', labels: { app: 'api', tier: 'backend' } },
];

/** The namespaces the demonstration's pods live in, with labels. */
export const DEMO_NAMESPACES: readonly LabNamespaceSpec[] = [
  { name: 'production', labels: { environment: 'production' } },
  { name: 'default', labels: {} },
];

/**
 * The demonstration's pods for a lab of `nodes` nodes with `podsPerNode` pods each: the
 * tutorial's five roles first (frontend, api-server and database in `production`; web
 * and api in `default`), then replicas named `<name>-2`, `-3`, ..., placed round-robin
 * so that consecutive roles (frontend → api-server → database) sit on different nodes.
 */
export function demoLabPods(nodes: number, podsPerNode: number): LabPodSpec[] {
  const count = nodes * podsPerNode;
  const pods: LabPodSpec[] = [];
  for (let i = 0; i < count; i += 1) {
    const template = TEMPLATES[i % TEMPLATES.length] as RoleTemplate;
    const round = Math.floor(i / TEMPLATES.length);
    pods.push({
      name: round === 0 ? template.name : `${template.name}-${round + 1}`,
      namespace: template.namespace,
      node: i % nodes,
      labels: { ...template.labels, [ROLE_LABEL]: template.role },
    });
  }
  return pods;
}

/** The role of a pod from its labels, or undefined for a pod that is not the demonstration's. */
export function roleOf(labels: Readonly<Record<string, string>>): DemoRole | undefined {
  const role = labels[ROLE_LABEL];
  return (Object.values(DEMO_ROLE) as readonly string[]).includes(role ?? '') ? (role as DemoRole) : undefined;
}
