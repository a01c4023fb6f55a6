// What the nftables flow readers know of this node's endpoints: their host-side
// interfaces and ifindexes, the hash their drop rules' log prefixes name them by, and
// their addresses (from the policy engine's effective rules). Turns a logged packet into
// a deny event and a new connection into one allow event per enforcement point. Pure.

import { endpointHash, parseDropLogPrefix } from '@twill/policy-engine';

import { type DataplaneFlowEvent } from '../../port.js';
import { type ConntrackTuple } from './conntrack.js';
import { type NflogPacket } from './nflog.js';
import { decodePacketHeaders } from './packet.js';
import { badMessage } from './netlink.js';

interface Known {
  readonly key: string;
  readonly hostInterface: string;
  ifindex: number;
  addresses: readonly string[];
}

/**
 * An address as the readers print them: IPv4 dotted, IPv6 in its shortest form (what
 * `formatIpv6` gives); a single-address prefix (`/32`, `/128`) as the address.
 */
export function normalizeAddress(address: string): string {
  const bare = address.replace(/\/(32|128)$/, '');
  if (!bare.includes(':')) return bare;
  try {
    // The URL standard's IPv6 serializer compresses the first longest run of zero groups, as formatIpv6 does.
    return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  } catch {
    return bare;
  }
}

// Written out field by field: at 100k events a second, spreads cost measurably (CPU profile).
function allowEvent(tuple: ConntrackTuple, timeMs: number, known: Known, direction: 'ingress' | 'egress'): DataplaneFlowEvent {
  const event: { -readonly [K in keyof DataplaneFlowEvent]: DataplaneFlowEvent[K] } = {
    timeMs,
    ifindex: known.ifindex,
    endpoint: known.key,
    direction,
    verdict: 'allow',
    reason: 'policy',
    // isReply absent: a conntrack NEW event is the connection's first packet, never a reply.
    protocol: tuple.protocol,
    source: tuple.source,
    destination: tuple.destination,
    sourcePort: tuple.sourcePort,
    destinationPort: tuple.destinationPort,
  };
  if (tuple.icmp !== undefined) event.icmp = tuple.icmp;
  return event;
}

/** The attached endpoints, by key, hash, ifindex and address. */
export class FlowEndpoints {
  readonly #byKey = new Map<string, Known>();
  readonly #listeners = new Set<() => void>();
  #byHash: Map<string, Known | null> | undefined;
  #byIfindex: Map<number, Known> | undefined;
  #byAddress: Map<string, Known> | undefined;

  /** An endpoint attached (again): its interface, and its ifindex when the caller knows it. */
  attach(key: string, hostInterface: string, ifindex?: number): void {
    const before = this.#byKey.get(key);
    const sameInterface = before?.hostInterface === hostInterface;
    this.#byKey.set(key, { key, hostInterface, ifindex: ifindex ?? (sameInterface ? before.ifindex : 0), addresses: before?.addresses ?? [] });
    this.#changed();
  }

  detach(key: string): void {
    const known = this.#byKey.get(key);
    if (known === undefined) return;
    this.#byKey.delete(key);
    this.#changed();
    if (known.addresses.length > 0) this.#addressesChanged();
  }

  /** The addresses of an attached endpoint (its effective rules' `addresses`); ignored for others. */
  setAddresses(key: string, addresses: readonly string[]): void {
    const known = this.#byKey.get(key);
    if (known === undefined) return;
    const normalized = addresses.map(normalizeAddress);
    if (normalized.length === known.addresses.length && normalized.every((a, i) => a === known.addresses[i])) return;
    known.addresses = normalized;
    this.#byAddress = undefined;
    this.#addressesChanged();
  }

  /** Every attached endpoint's addresses (single addresses only: what {@link allowEvent} can match), each once. */
  addresses(): string[] {
    return [...this.#addresses().keys()].filter((a) => !a.includes('/'));
  }

  /** Calls `listener` after the set of addresses changed (an endpoint's addresses set, or one with addresses detached). Returns the unsubscribe. */
  onAddressesChanged(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Sets the ifindex of the endpoint attached on `hostInterface`. */
  setIfindex(hostInterface: string, ifindex: number): void {
    for (const known of this.#byKey.values()) {
      if (known.hostInterface === hostInterface && known.ifindex !== ifindex) {
        known.ifindex = ifindex;
        this.#byIfindex = undefined;
      }
    }
  }

  /** Host-side interfaces whose ifindex is not known yet. */
  unresolved(): string[] {
    return [...this.#byKey.values()].filter((k) => k.ifindex === 0).map((k) => k.hostInterface);
  }

  /**
   * The deny event of a packet a drop rule logged; `undefined` when the prefix is not a
   * drop rule's (a Log rule sharing the group, another program).
   * @throws {NftablesDataplaneError} `bad-flow-message` when the payload is missing or not an IP packet.
   */
  dropEvent(packet: NflogPacket, receivedMs: number): DataplaneFlowEvent | undefined {
    const drop = packet.prefix === undefined ? undefined : parseDropLogPrefix(packet.prefix);
    if (drop === undefined) return undefined;
    if (packet.payload === undefined) throw badMessage('NFLOG packet', `prefix ${packet.prefix ?? ''} without NFULA_PAYLOAD (copy mode is not packet)`);
    const headers = decodePacketHeaders(packet.payload);
    // Ingress to the pod leaves the host through its veth; egress enters from it.
    const ifindex = drop.direction === 'ingress' ? packet.outIfindex : packet.inIfindex;
    // Two attached keys with one hash (32 bits) cannot be told apart by the prefix: the interface decides.
    const byHash = this.#hashes().get(drop.endpointHash) ?? undefined;
    const known = byHash ?? (ifindex === 0 ? undefined : this.#ifindexes().get(ifindex));
    if (byHash !== undefined && ifindex !== 0 && byHash.ifindex !== ifindex) {
      // The prefix named it, so this is its interface: learnt without a lookup.
      byHash.ifindex = ifindex;
      this.#byIfindex = undefined;
    }
    return {
      timeMs: packet.timeMs ?? receivedMs,
      ifindex,
      ...(known === undefined ? {} : { endpoint: known.key }),
      direction: drop.direction,
      verdict: 'deny',
      reason: drop.kind === 'no-entry' ? 'no-entry' : 'policy',
      dropKind: drop.kind,
      // isReply absent: the drop rules log packets of no known connection (established and
      // related ones are accepted before them), never replies.
      ...headers,
    };
  }

  /**
   * A new connection's allow event in one direction: egress of a local source, or ingress
   * of a local destination; `undefined` when that side is not local.
   */
  allowEvent(tuple: ConntrackTuple, timeMs: number, direction: 'ingress' | 'egress'): DataplaneFlowEvent | undefined {
    const known = this.#addresses().get(direction === 'egress' ? tuple.source : tuple.destination);
    return known === undefined ? undefined : allowEvent(tuple, timeMs, known, direction);
  }

  #addressesChanged(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  #changed(): void {
    this.#byHash = undefined;
    this.#byIfindex = undefined;
    this.#byAddress = undefined;
  }

  #hashes(): Map<string, Known | null> {
    if (this.#byHash === undefined) {
      this.#byHash = new Map();
      for (const known of this.#byKey.values()) {
        const hash = endpointHash(known.key);
        this.#byHash.set(hash, this.#byHash.has(hash) ? null : known);
      }
    }
    return this.#byHash as Map<string, Known | null>;
  }

  #ifindexes(): Map<number, Known> {
    this.#byIfindex ??= new Map([...this.#byKey.values()].filter((k) => k.ifindex !== 0).map((k) => [k.ifindex, k]));
    return this.#byIfindex;
  }

  #addresses(): Map<string, Known> {
    this.#byAddress ??= new Map([...this.#byKey.values()].flatMap((k) => k.addresses.map((a) => [a, k] as const)));
    return this.#byAddress;
  }
}
