// fast-check arbitraries for every message and attribute, in the canonical form the
// decoder returns (host bits clear, RFC 5952 IPv6 text, attributes in type order).
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';

import {
  type AsPathSegment,
  type Asn,
  type BgpMessage,
  type BgpNotificationMessage,
  type BgpOpen,
  type BgpRouteRefresh,
  type BgpUpdate,
  type Capability,
  type IpFamily,
  type MpReachNlri,
  type MpUnreachNlri,
  type NegotiatedState,
  type Nlri,
  type PathAttributes,
  decodeShutdownCommunication,
  hasFamily,
  makePrefix,
} from '@twill/bgp';

/** The four combinations of 4-octet AS and ADD-PATH (both directions, IPv4 and IPv6 unicast). */
export const STATES: readonly (readonly [string, NegotiatedState])[] = [false, true].flatMap((fourOctetAs) =>
  [false, true].map((addPath) => {
    const families = addPath ? [{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }] : [];
    const name = `${fourOctetAs ? '4-octet' : '2-octet'} AS, ${addPath ? 'ADD-PATH' : 'no ADD-PATH'}`;
    return [name, { fourOctetAs, extendedMessage: true, addPathReceive: families, addPathSend: families }] as const;
  }),
);

const uint32 = fc.integer({ min: 0, max: 0xffffffff });
const asn2 = fc.integer({ min: 1, max: 0xffff }).map((n) => n as Asn);
const asnAny = fc.oneof(asn2, fc.integer({ min: 0x10000, max: 0xffffffff }).map((n) => n as Asn));

/** A dotted quad. */
export const ipv4Text = fc.ipV4();
/** A unicast host address, as NEXT_HOP must be (RFC 4271 §6.3). */
export const hostText = ipv4Text.filter((a) => a !== '0.0.0.0' && Number(a.split('.')[0]) < 224);
/** An IPv6 address in RFC 5952 form. */
export const ipv6Text = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => ipaddr.fromByteArray(Array.from(b)).toString());

/** A prefix of `family` with its host bits clear. */
export function prefixOf(family: IpFamily): fc.Arbitrary<Nlri['prefix']> {
  const size = family === 4 ? 4 : 16;
  return fc
    .tuple(fc.uint8Array({ minLength: size, maxLength: size }), fc.integer({ min: 0, max: size * 8 }))
    .map(([bytes, length]) => makePrefix(family, bytes, length));
}

/** NLRI entries, with path identifiers exactly when `addPath`. */
export function nlriOf(family: IpFamily, addPath: boolean, maxLength = 8): fc.Arbitrary<Nlri[]> {
  const entry = addPath ? fc.record({ prefix: prefixOf(family), pathId: uint32 }) : fc.record({ prefix: prefixOf(family) });
  return fc.array(entry, { maxLength });
}

/** AS_PATH segments; without 4-octet AS, confederation segments lead and hold 2-octet ASes (RFC 5065, RFC 6793 §3). */
export function asPathOf(fourOctetAs: boolean): fc.Arbitrary<AsPathSegment[]> {
  const segment = (types: readonly (1 | 2 | 3 | 4)[], asn: fc.Arbitrary<Asn>): fc.Arbitrary<AsPathSegment> =>
    fc.record({ type: fc.constantFrom(...types), asns: fc.array(asn, { minLength: 1, maxLength: 6 }) });
  const confed = fc.array(segment([3, 4], fourOctetAs ? asnAny : asn2), { maxLength: 2 });
  const plain = fc.array(segment([1, 2], asnAny), { maxLength: 4 });
  return fc.tuple(confed, plain).map(([c, p]) => [...c, ...p]);
}

const UNKNOWN_TYPES = [11, 12, 13, 16, 19, 20, 21, 22, 25, 26, 29, 35, 40, 128, 200, 255];

function mpReachOf(state: NegotiatedState): fc.Arbitrary<MpReachNlri> {
  const v4 = fc.record({
    afi: fc.constant(1),
    safi: fc.constant(1),
    nextHops: fc.oneof(ipv4Text.map((a) => [a]), ipv6Text.map((a) => [a]), fc.tuple(ipv6Text, ipv6Text)),
    nlri: nlriOf(4, hasFamily(state.addPathSend, 1, 1)),
  });
  const v6 = fc.record({
    afi: fc.constant(2),
    safi: fc.constant(1),
    nextHops: fc.oneof(ipv6Text.map((a) => [a]), fc.tuple(ipv6Text, ipv6Text)),
    nlri: nlriOf(6, hasFamily(state.addPathSend, 2, 1)),
  });
  const opaque = fc.record({ afi: fc.constant(25), safi: fc.constant(65), nextHops: fc.constant([]), nlri: fc.constant([]), opaque: fc.uint8Array({ maxLength: 20 }) });
  return fc.oneof(v4, v6, opaque);
}

function mpUnreachOf(state: NegotiatedState): fc.Arbitrary<MpUnreachNlri> {
  return fc.oneof(
    fc.record({ afi: fc.constant(1), safi: fc.constant(1), withdrawn: nlriOf(4, hasFamily(state.addPathSend, 1, 1)) }),
    fc.record({ afi: fc.constant(2), safi: fc.constant(1), withdrawn: nlriOf(6, hasFamily(state.addPathSend, 2, 1)) }),
    fc.record({ afi: fc.constant(1), safi: fc.constant(128), withdrawn: fc.constant([]), opaque: fc.uint8Array({ maxLength: 20 }) }),
  );
}

/** Generators for each path attribute. */
export function attributeArbitraries(state: NegotiatedState): { [K in keyof PathAttributes]-?: fc.Arbitrary<NonNullable<PathAttributes[K]>> } {
  return {
    origin: fc.constantFrom(0 as const, 1 as const, 2 as const),
    asPath: asPathOf(state.fourOctetAs),
    nextHop: hostText,
    med: uint32,
    localPref: uint32,
    atomicAggregate: fc.constant(true),
    aggregator: fc.record({ asn: asnAny, address: ipv4Text }),
    communities: fc.array(uint32, { minLength: 1, maxLength: 6 }),
    originatorId: ipv4Text,
    clusterList: fc.array(ipv4Text, { minLength: 1, maxLength: 4 }),
    mpReach: mpReachOf(state),
    mpUnreach: mpUnreachOf(state),
    largeCommunities: fc.uniqueArray(fc.record({ globalAdministrator: uint32, localData1: uint32, localData2: uint32 }), {
      minLength: 1,
      maxLength: 4,
      selector: (c) => `${c.globalAdministrator}:${c.localData1}:${c.localData2}`,
    }),
    unknown: fc
      .uniqueArray(fc.record({ typeCode: fc.constantFrom(...UNKNOWN_TYPES), value: fc.uint8Array({ maxLength: 300 }) }), { minLength: 1, maxLength: 3, selector: (u) => u.typeCode })
      .map((list) => [...list].sort((a, b) => a.typeCode - b.typeCode)),
  };
}

/**
 * UPDATE messages that decode back to themselves: announcements carry the mandatory
 * attributes (RFC 4271 §5). `required` forces some attributes to be present.
 */
export function updateOf(state: NegotiatedState, required: readonly (keyof PathAttributes)[] = []): fc.Arbitrary<BgpUpdate> {
  const v4AddPath = hasFamily(state.addPathSend, 1, 1);
  return fc
    .record({
      withdrawn: nlriOf(4, v4AddPath),
      attributes: fc.record(attributeArbitraries(state), { requiredKeys: [...required] }),
      nlri: nlriOf(4, v4AddPath),
      defaults: fc.record({ origin: fc.constantFrom(0 as const, 1 as const, 2 as const), asPath: asPathOf(state.fourOctetAs), nextHop: hostText }),
    })
    .map(({ withdrawn, attributes, nlri, defaults }) => {
      const reach = attributes.mpReach;
      const announces = nlri.length > 0 || (reach !== undefined && (reach.nlri.length > 0 || reach.opaque !== undefined));
      const attrs: PathAttributes = announces
        ? { ...attributes, origin: attributes.origin ?? defaults.origin, asPath: attributes.asPath ?? defaults.asPath, ...(nlri.length > 0 ? { nextHop: attributes.nextHop ?? defaults.nextHop } : {}) }
        : attributes;
      return { type: 'update' as const, withdrawn, attributes: attrs, nlri };
    });
}

/** Capabilities in decoded form. */
export const capability: fc.Arbitrary<Capability> = fc.oneof(
  fc.record({ kind: fc.constant('multiprotocol' as const), afi: fc.integer({ min: 0, max: 0xffff }), safi: fc.integer({ min: 0, max: 255 }) }),
  fc.constant({ kind: 'route-refresh' as const }),
  fc.constant({ kind: 'enhanced-route-refresh' as const }),
  fc.constant({ kind: 'extended-message' as const }),
  fc.record({ kind: fc.constant('four-octet-as' as const), asn: fc.integer({ min: 1, max: 0xffffffff }).map((n) => n as Asn) }),
  fc.record({
    kind: fc.constant('graceful-restart' as const),
    restarting: fc.boolean(),
    notification: fc.boolean(),
    restartTime: fc.integer({ min: 0, max: 4095 }),
    families: fc.array(fc.record({ afi: fc.integer({ min: 0, max: 0xffff }), safi: fc.integer({ min: 0, max: 255 }), forwardingPreserved: fc.boolean() }), { maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant('add-path' as const),
    families: fc.array(
      fc.record({ afi: fc.integer({ min: 0, max: 0xffff }), safi: fc.integer({ min: 0, max: 255 }), mode: fc.integer({ min: 1, max: 3 }) }).map(({ afi, safi, mode }) => ({ afi, safi, receive: (mode & 1) !== 0, send: (mode & 2) !== 0 })),
      { minLength: 1, maxLength: 4 },
    ),
  }),
  fc.record({ kind: fc.constant('unknown' as const), code: fc.constantFrom(3, 5, 7, 71, 73, 128, 131, 255), value: fc.uint8Array({ maxLength: 40 }) }),
);

/** OPEN messages (hold time 0 or ≥ 3, non-zero identifier and AS: RFC 4271 §6.2). */
export const open: fc.Arbitrary<BgpOpen> = fc.record({
  type: fc.constant('open' as const),
  version: fc.constant(4),
  myAs: asn2,
  holdTime: fc.oneof(fc.constant(0), fc.integer({ min: 3, max: 0xffff })),
  bgpIdentifier: ipv4Text.filter((a) => a !== '0.0.0.0'),
  capabilities: fc.array(capability, { maxLength: 30 }),
});

/** NOTIFICATION messages, with the shutdown communication the decoder derives. */
export const notification: fc.Arbitrary<BgpNotificationMessage> = fc
  .record({ errorCode: fc.integer({ min: 0, max: 255 }), errorSubcode: fc.integer({ min: 0, max: 255 }), data: fc.uint8Array({ maxLength: 64 }) })
  .map(({ errorCode, errorSubcode, data }) => {
    const text = errorCode === 6 && (errorSubcode === 2 || errorSubcode === 4) ? decodeShutdownCommunication(data) : undefined;
    return { type: 'notification' as const, errorCode, errorSubcode, data, ...(text === undefined ? {} : { shutdownCommunication: text }) };
  });

/** ROUTE-REFRESH messages. */
export const routeRefresh: fc.Arbitrary<BgpRouteRefresh> = fc.record({
  type: fc.constant('route-refresh' as const),
  afi: fc.integer({ min: 0, max: 0xffff }),
  safi: fc.integer({ min: 0, max: 255 }),
  subtype: fc.integer({ min: 0, max: 255 }),
});

/** Any message. */
export function messageOf(state: NegotiatedState): fc.Arbitrary<BgpMessage> {
  return fc.oneof(open, updateOf(state), notification, routeRefresh, fc.constant({ type: 'keepalive' as const }));
}
