// The Twill side of the L7 benchmark (bench/l7.bench.ts), run as a child process inside
// the node namespace (`ip netns exec`) so that the harness's own work does not share the
// proxy's event loop: the agent's L7Proxy on a transparent listener (what an nftables
// `tproxy` rule delivers to), deciding with the seed tutorial's l7-api-policy through
// @twill/policy-engine by the connection's real addresses. Commands come over the IPC
// channel; each gets one reply.
//   (start)              -> { ready: true, port } once listening
//   { cmd: 'counts' }    -> { forwarded, denied, other, deniedConnections } since the start
//   { cmd: 'stop' }      -> closes the proxy and exits
// argv[2]: JSON { netns, port, client: { app, ip }[] , server: { app, ip } }.
import { compileCiliumPolicy, compileHttpMatcher, createSnapshot, evaluate, l7RuleSetsOf, parseCiliumPolicy, type Endpoint, type Policy } from '@twill/policy-engine';
import { openTransparentListener } from '@twill/sys';
import { parseAllDocuments } from 'yaml';

import { L7_VERDICT, L7Proxy, type L7Endpoint, type L7PolicySource } from '../apps/agent/src/agent/l7/index.js';

/** A pod of the benchmark: its `app` label and address. */
export interface L7BenchPod {
  readonly app: string;
  readonly ip: string;
}

/** What the child is started with (argv[2], JSON). */
export interface L7ChildArgs {
  /** The node namespace's name (the listener is opened there; the child runs in it). */
  readonly netns: string;
  /** The port the tproxy rule redirects to. */
  readonly port: number;
  /** The policy's YAML (CiliumNetworkPolicy documents). */
  readonly policy: string;
  /** The pods, all in namespace `default`. */
  readonly pods: readonly L7BenchPod[];
}

/** The child's replies. */
export type L7ChildReply =
  | { readonly ready: true; readonly port: number }
  | { readonly forwarded: number; readonly denied: number; readonly other: number; readonly deniedConnections: number }
  | { readonly error: string };

/**
 * The decision as the agent makes it: the flow between the two addresses (pods of the
 * snapshot, found by address) on the destination's TCP port through `evaluate`, then the
 * L7 rules of the verdict as one matcher.
 */
function policySource(yaml: string, pods: readonly L7BenchPod[]): L7PolicySource {
  const policies: Policy[] = [];
  for (const document of parseAllDocuments(yaml)) policies.push(...compileCiliumPolicy(parseCiliumPolicy(document.toJS())));
  const endpoints: Endpoint[] = pods.map((pod) => ({ kind: 'workload', namespace: 'default', name: pod.app, labels: { app: pod.app }, ips: [pod.ip], node: 'bench' }));
  const snapshot = createSnapshot({ endpoints, policies });
  return {
    decide(client: L7Endpoint, destination: L7Endpoint) {
      const verdict = evaluate({ source: { ip: client.address }, destination: { ip: destination.address }, protocol: 'TCP', destinationPort: destination.port }, snapshot);
      if (!verdict.allowed) return { allowed: false, why: [verdict.egress, verdict.ingress].find((v) => v !== undefined && !v.allowed)?.message ?? 'denied' };
      const matcher = compileHttpMatcher(l7RuleSetsOf(verdict));
      return { allowed: true, http: matcher.restricts ? matcher : 'any' };
    },
  };
}

const send = (reply: L7ChildReply): void => void process.send?.(reply);

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as L7ChildArgs;
  const counts = { forwarded: 0, denied: 0, other: 0 };
  const proxy = new L7Proxy({
    policy: policySource(args.policy, args.pods),
    // A count per verdict stands for the agent's flow observer (not measured here).
    onFlow: (record) => {
      if (record.verdict === L7_VERDICT.FORWARDED) counts.forwarded += 1;
      else if (record.verdict === L7_VERDICT.DENIED) counts.denied += 1;
      else counts.other += 1;
    },
  });
  const fd = openTransparentListener({ address: '0.0.0.0', port: args.port, netns: args.netns });
  const { port } = await proxy.listen({ fd });
  process.on('message', (message: { cmd: string }) => {
    if (message.cmd === 'counts') send({ ...counts, deniedConnections: proxy.stats.deniedConnections });
    else if (message.cmd === 'stop') void proxy.close().then(() => process.exit(0));
  });
  send({ ready: true, port });
}

main().catch((error: unknown) => {
  send({ error: String(error) });
  process.exit(1);
});
