// A connection the L7 proxy refused at L3/L4, as a flow event: the drop the kernel would
// have reported had it decided the connection itself (with eBPF, a client on another node
// or one reaching the pod through a Service address is accepted by the proxy, which asks
// the policy before it reads a byte).
import { type DataplaneFlowEvent } from '../../dataplane/port.js';
import { type FlowPolicyView } from '../flows/policy-view.js';
import { type L7Endpoint } from './ports.js';

/**
 * The drop event of a connection from `client` to `destination` the proxy closed because
 * L3/L4 policy denies it: ingress at the destination when it is an endpoint attached to
 * this node, else egress at the client's endpoint (none when neither is known); TCP, a
 * SYN, policy the reason, so the observer attributes it like a kernel drop.
 */
export function proxyDeniedEvent(view: Pick<FlowPolicyView, 'endpointByAddress'>, client: L7Endpoint, destination: L7Endpoint, timeMs: number): DataplaneFlowEvent {
  const target = view.endpointByAddress(destination.address);
  const at = target?.hostInterface !== undefined ? { endpoint: target.key, direction: 'ingress' as const } : { endpoint: view.endpointByAddress(client.address)?.key, direction: 'egress' as const };
  return {
    timeMs,
    ifindex: 0,
    ...(at.endpoint === undefined ? {} : { endpoint: at.endpoint }),
    direction: at.direction,
    verdict: 'deny',
    reason: 'policy',
    protocol: 6,
    source: client.address,
    destination: destination.address,
    sourcePort: client.port,
    destinationPort: destination.port,
    tcpFlags: 0x02,
  };
}
