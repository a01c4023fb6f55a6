// The L7 tests' world, shared by the proxy harness and the policy-source and
// redirect-target tests: the seed tutorial's pods (frontend, api and other in `default`
// on this node, node-a, and a pod labelled app=frontend in namespace `shop` on node-b),
// its l7-api-policy from the fixture the Kubernetes tests apply, and CiliumNetworkPolicy
// YAML built as a user writes it.
import { readFileSync } from 'node:fs';

import { stringify } from 'yaml';

/** The seed tutorial's l7-api-policy: `GET /api/v1/.*` from frontend to api on 8080. */
export const SEED_L7_POLICY = readFileSync(new URL('../../kubernetes/fixtures/seed/l7-api-policy.yaml', import.meta.url), 'utf8');

/** The pods: name, namespace, app label, address, node. */
export const PODS = {
  frontend: { namespace: 'default', app: 'frontend', ip: '10.0.1.1', node: 'node-a' },
  api: { namespace: 'default', app: 'api', ip: '10.0.1.2', node: 'node-a' },
  other: { namespace: 'default', app: 'other', ip: '10.0.1.3', node: 'node-a' },
  shopFrontend: { namespace: 'shop', app: 'frontend', ip: '10.0.2.1', node: 'node-b' },
} as const;

/** An endpoint selector (or a from/to endpoints list's entry) matching pods labelled app=`app`. */
export const appIs = (app: string): { matchLabels: { app: string } } => ({ matchLabels: { app } });

/** A CiliumNetworkPolicy as YAML: `spec` for the pods labelled app=`app` of `namespace`. */
export function ciliumPolicy(name: string, app: string, spec: Record<string, unknown>, namespace = 'default'): string {
  return stringify({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name, namespace }, spec: { endpointSelector: appIs(app), ...spec } });
}

/** What ciliumAllow allows. */
export interface CiliumAllow {
  /** The policy's name. */
  readonly name: string;
  /** Its namespace (default `default`). */
  readonly namespace?: string;
  /** The app label of the pods it selects. */
  readonly app: string;
  /** `ingress` from the peer pods, or `egress` to them. */
  readonly direction: 'ingress' | 'egress';
  /** The app label of the peer pods. */
  readonly peer: string;
  /** The one TCP port. */
  readonly port: number;
  /** The port's L7 `rules` (e.g. `{ http: [...] }`), when any. */
  readonly rules?: Record<string, unknown>;
}

/** A CiliumNetworkPolicy as YAML with one rule: pods app=`app` take from (or send to) pods app=`peer` on one TCP port. */
export function ciliumAllow({ name, namespace, app, direction, peer, port, rules }: CiliumAllow): string {
  const toPorts = [{ ports: [{ port: String(port), protocol: 'TCP' }], ...(rules === undefined ? {} : { rules }) }];
  const rule = direction === 'ingress' ? { fromEndpoints: [appIs(peer)], toPorts } : { toEndpoints: [appIs(peer)], toPorts };
  return ciliumPolicy(name, app, { [direction]: [rule] }, namespace);
}
