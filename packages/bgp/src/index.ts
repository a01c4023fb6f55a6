/**
 * @twill/bgp: A BGP-4 speaker in TypeScript: wire codec, per-peer FSM, RIBs with best-path selection, policy, route reflection, graceful restart.
 *
 * Everything here is pure: the codec (`decodeX`/`encodeX` over `Uint8Array`, with the negotiated
 * session state passed explicitly), the FSM (`step` with an injected clock), the RIB and policies.
 * @packageDocumentation
 */
export {
  type AfiSafi,
  type BgpErrorCode,
  type BgpNotificationInit,
  type ErrorAction,
  BGP_ERROR_CODE,
  BgpError,
  BgpInvalidArgument,
  BgpNotification,
  ERROR_ACTION,
} from './errors.js';
export { type Asn, asn, asnToText } from './codec/asn.js';
export {
  type AsPathSegmentType,
  type Origin,
  AFI,
  AS_PATH_SEGMENT,
  AS_TRANS,
  ATTRIBUTE_FLAG,
  ATTRIBUTE_TYPE,
  CAPABILITY_CODE,
  HEADER_LENGTH,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH,
  MESSAGE_TYPE,
  OPTIONAL_PARAMETER_TYPE,
  ORIGIN,
  ROUTE_REFRESH_SUBTYPE,
  SAFI,
} from './codec/constants.js';
export {
  type NotificationDescription,
  type NotificationText,
  CEASE,
  FSM_ERROR,
  HEADER_ERROR,
  NOTIFICATION_CODE,
  OPEN_ERROR,
  ROUTE_REFRESH_ERROR,
  UNSPECIFIC_SUBCODE,
  UPDATE_ERROR,
  describeNotification,
} from './codec/notification-codes.js';
export { type BgpPrefix, type IpFamily, type Nlri, makePrefix, parsePrefix, prefixToText } from './codec/prefix.js';
export { type NegotiatedState, INITIAL_NEGOTIATED_STATE, hasFamily, maxMessageLength, negotiate } from './codec/negotiated.js';
export { type BgpHeader, type SplitMessages, decodeHeader, splitMessages } from './codec/header.js';
export {
  type AddPathCapability,
  type AddPathFamily,
  type Capability,
  type EnhancedRouteRefreshCapability,
  type ExtendedMessageCapability,
  type FourOctetAsCapability,
  type GracefulRestartCapability,
  type GracefulRestartFamily,
  type MultiprotocolCapability,
  type RouteRefreshCapability,
  type UnknownCapability,
} from './codec/capabilities.js';
export { type BgpOpen, BGP_VERSION, decodeOpen, encodeOpen, myAsField, openAsn } from './codec/open.js';
export { type AsPathSegment, asPathLength } from './codec/attributes/as-path.js';
export {
  type LargeCommunity,
  WELL_KNOWN_COMMUNITY,
  communityToText,
  largeCommunityToText,
  parseCommunity,
  parseLargeCommunity,
} from './codec/attributes/communities.js';
export { type MpReachNlri, type MpUnreachNlri } from './codec/attributes/mp-nlri.js';
export { type Aggregator, type PathAttributes, type UnknownAttribute, type UpdateProblem } from './codec/attributes/path-attributes.js';
export {
  type BgpUpdate,
  type DecodedUpdate,
  type PackedUpdate,
  type UpdateError,
  decodeUpdate,
  decodeUpdatePacked,
  encodeUpdate,
  endOfRib,
  endOfRibFamily,
} from './codec/update.js';
export { type PackedNlri, Ipv4NlriCursor, checkNlriField, unpackNlri } from './codec/packed-nlri.js';
export {
  type BgpNotificationMessage,
  MAX_SHUTDOWN_COMMUNICATION_LENGTH,
  decodeNotification,
  decodeShutdownCommunication,
  encodeNotification,
  encodeShutdownCommunication,
  notificationFromError,
  notificationToText,
} from './codec/notification.js';
export {
  type BgpKeepalive,
  type BgpRouteRefresh,
  decodeRouteRefresh,
  encodeKeepalive,
  encodeRouteRefresh,
  isKnownRouteRefreshSubtype,
} from './codec/route-refresh.js';
export { type BgpMessage, type DecodedMessage, decodeMessage, encodeMessage } from './codec/message.js';
export { type PeerId, type RouterId, peerId, routerId } from './ids.js';
export {
  type DownReason,
  type FsmAction,
  type FsmConfig,
  type FsmEvent,
  type FsmState,
  type FsmStep,
  type IdleHoldConfig,
  type SessionParameters,
  type SessionState,
  type TimerName,
  SESSION_STATE,
  TIMER,
} from './fsm/types.js';
export { createFsm, isVersionError, step } from './fsm/step.js';
export { capabilityName, checkOpen, localCapabilities } from './fsm/open-check.js';
export { type ConnectionInfo, resolveCollision } from './fsm/collision.js';
export { describeHoldTimerExpiry, describeReceivedNotification } from './fsm/describe.js';
export { type PrefixKey, ipv4Key, keyFamily, prefixFromKey, prefixKey } from './rib/prefix-key.js';
export { PrefixMap } from './rib/prefix-map.js';
export { type AttributeSet, type RouteAttributes, asPathToText } from './rib/attributes.js';
export { type FibBatch, type FibRoute, type FibSink, CollectingFibSink, fibBatch } from './rib/fib.js';
export { type RibPeerConfig } from './rib/peer.js';
export { type DecisionOptions, DEFAULT_LOCAL_PREF } from './rib/decision.js';
export {
  type AnnouncementGroup,
  type FlushOptions,
  type FlushResult,
  type OutgoingDelta,
  type ReceiveResult,
  type RibOptions,
  type RibPeerStats,
  type PathView,
  type PrefixPaths,
  type RouteQuery,
  type RouteView,
  Rib,
  prefixLimitNotification,
} from './rib/rib.js';
export { type CompiledPrefixListEntry, type PrefixListEntry, compilePrefixList, prefixListPermits } from './policy/prefix-list.js';
export {
  type CommunityMatch,
  type CompiledPolicy,
  type CompiledTerm,
  type PolicyActions,
  type PolicyDefinition,
  type PolicyInput,
  type PolicyMatch,
  type PolicyOutcome,
  type PolicyTerm,
  type PolicyVerdict,
  ACCEPT_ALL,
  POLICY_VERDICT,
  applyPolicy,
  compilePolicy,
  evaluatePolicy,
  runPolicy,
} from './policy/policy.js';
export {
  type CancelTimer,
  type Connection,
  type ConnectionEvents,
  type ConnectTarget,
  type IncomingConnection,
  type IncomingHandler,
  type PeerSocketOptions,
  type SpeakerClock,
  type SpeakerTransport,
  unmapAddress,
} from './speaker/ports.js';
export { type BgpSpeakerOptions, type PeerStatus, type SpeakerLogger, type SpeakerPeerConfig } from './speaker/types.js';
export { type SessionFamilies, coalesce, encodeEndOfRib, encodeOutgoing } from './speaker/updates.js';
export {
  type GracefulRestartConfig,
  DEFAULT_RESTART_TIME,
  familiesToFlush,
  gracefulRestartCapability,
  helperRetention,
  peerGracefulRestart,
  retainedFamilies,
} from './speaker/graceful-restart.js';
export { describeConnectTimeout } from './speaker/peer-runtime.js';
export { sessionFamilies, ttlOptions } from './speaker/session-options.js';
export { type HeldRoute, type RouteFilter, type RouteOrigin, queryRoutes } from './speaker/route-query.js';
export { BgpSpeaker } from './speaker/speaker.js';
export { systemClock } from './speaker/sys/clock.js';
export { type TcpTransportOptions, createTcpTransport } from './speaker/sys/tcp.js';
