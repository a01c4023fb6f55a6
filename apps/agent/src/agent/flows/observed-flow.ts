// A verdict event as the observer keeps it in the ring: the dataplane's event and what
// the observer resolved at ingest (both endpoints, the decision, a serial number), with
// the Hubble-style Flow record built from them only when a reader reads it. Ingest
// needs the decision anyway (Prometheus counters); the record's objects and strings
// (time, uuid, IP, L4, interface, summary) are most of the rest of its cost, and at
// 100k events/s most records are overwritten unread. Everything the record shows is
// resolved at ingest, so it reads the same however late it is built. Pure.
import { type Flow, type FlowEndpoint, type FlowTime, type LazyFlow, type Layer4, TRAFFIC_DIRECTION, VERDICT } from '@twill/flows';

import { type DataplaneFlowEvent } from '../../dataplane/port.js';
import { type Decision } from './attribution.js';

/** What every flow of one observer shares. */
export interface ObservedFlowContext {
  /** This node's name, in every flow. */
  readonly nodeName: string;
  /** The observer's UUID prefix (a version 4 UUID's shape up to its last group: the serial's). */
  readonly uuidPrefix: string;
}

const TCP = 6;
const UDP = 17;
const SCTP = 132;
const ICMP = 1;
const ICMPV6 = 58;
const FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'] as const;

// One tcpFlags object and Summary per flags byte.
const TCP_FLAGS = Array.from({ length: 256 }, (_, byte) => {
  const set = FLAG_NAMES.filter((_, bit) => (byte & (1 << bit)) !== 0);
  return { flags: Object.freeze(Object.fromEntries(set.map((name) => [name, true]))), summary: set.length === 0 ? 'TCP' : `TCP Flags: ${set.join(', ')}` };
});

/**
 * One observed event, its flow built on the first {@link flow} call and kept (the ring
 * asks once per reader and filter). Made by `FlowObserver`; constructor arguments are
 * positional because one is made per event.
 */
export class ObservedFlow implements LazyFlow {
  #flow: Flow | undefined;

  /**
   * @param context what the observer's flows share
   * @param event the dataplane's event
   * @param serial the observer's count of flows, this one's (the uuid's last group)
   * @param local the pod's side: the source of an egress packet, the destination of an ingress one
   * @param remote the other side
   * @param interfaceName the endpoint's host-side interface; undefined when the dataplane did not name an endpoint the agent knows
   * @param decision what decided (for a reply: what allowed its connection)
   */
  constructor(
    readonly context: ObservedFlowContext,
    readonly event: DataplaneFlowEvent,
    readonly serial: number,
    readonly local: FlowEndpoint,
    readonly remote: FlowEndpoint,
    readonly interfaceName: string | undefined,
    readonly decision: Decision,
  ) {}

  /** The event's time as a flow's (microseconds kept: a double holds no finer at this magnitude). */
  time(): FlowTime {
    const ms = this.event.timeMs;
    const seconds = Math.floor(ms / 1000);
    return { seconds, nanos: Math.min(999_999, Math.round((ms - seconds * 1000) * 1000)) * 1000 };
  }

  /** The Hubble-style record, built on the first call. */
  flow(): Flow {
    return (this.#flow ??= this.#build());
  }

  #build(): Flow {
    const { event, decision } = this;
    const egress = event.direction === 'egress';
    const isReply = event.isReply === true;
    // The packet's way says which address is the pod's; the flow's traffic direction is
    // the connection's (a reply goes the other way), as in Hubble.
    const connectionEgress = isReply ? !egress : egress;
    const allowed = event.verdict === 'allow';
    const { l4, summary } = layer4(event);
    return {
      time: this.time(),
      uuid: this.context.uuidPrefix + this.serial.toString(16).padStart(12, '0'),
      verdict: allowed ? VERDICT.FORWARDED : VERDICT.DROPPED,
      dropReasonDesc: allowed ? undefined : decision.dropReason,
      IP: { source: event.source, destination: event.destination, ipVersion: event.source.includes(':') ? 'IPv6' : 'IPv4' },
      l4,
      source: egress ? this.local : this.remote,
      destination: egress ? this.remote : this.local,
      Type: 'L3_L4',
      nodeName: this.context.nodeName,
      isReply,
      trafficDirection: connectionEgress ? TRAFFIC_DIRECTION.EGRESS : TRAFFIC_DIRECTION.INGRESS,
      egressAllowedBy: decision.egressAllowedBy,
      ingressAllowedBy: decision.ingressAllowedBy,
      egressDeniedBy: decision.egressDeniedBy,
      ingressDeniedBy: decision.ingressDeniedBy,
      interface: this.interfaceName === undefined && event.ifindex === 0 ? undefined : { index: event.ifindex, name: this.interfaceName ?? '' },
      Summary: summary,
      decidedBy: decision.decidedBy,
    };
  }
}

function layer4(event: DataplaneFlowEvent): { readonly l4: Layer4 | undefined; readonly summary: string } {
  switch (event.protocol) {
    case TCP: {
      const flags = event.tcpFlags === undefined ? undefined : TCP_FLAGS[event.tcpFlags & 0xff];
      return {
        l4: { TCP: { sourcePort: event.sourcePort, destinationPort: event.destinationPort, ...(flags === undefined ? {} : { flags: flags.flags }) } },
        summary: flags?.summary ?? 'TCP',
      };
    }
    case UDP:
      return { l4: { UDP: { sourcePort: event.sourcePort, destinationPort: event.destinationPort } }, summary: 'UDP' };
    case SCTP:
      return { l4: { SCTP: { sourcePort: event.sourcePort, destinationPort: event.destinationPort } }, summary: 'SCTP' };
    case ICMP:
    case ICMPV6: {
      const type = event.icmp?.type ?? 0;
      const code = event.icmp?.code ?? 0;
      const name = event.protocol === ICMP ? 'ICMPv4' : 'ICMPv6';
      return { l4: event.protocol === ICMP ? { ICMPv4: { type, code } } : { ICMPv6: { type, code } }, summary: `${name} type ${type} code ${code}` };
    }
    default:
      return { l4: undefined, summary: `IP protocol ${event.protocol}` };
  }
}
