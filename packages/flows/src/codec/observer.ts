// The observer messages: GetFlowsRequest (with its flow filters), GetFlowsResponse (a flow
// or a LostEvent), ServerStatusResponse; and the encode/decode functions of the package.
// Decoding never throws anything but a FlowsError: protobufjs's reader errors on
// truncated or malformed bytes become a FlowCodecError with the reader's words.
import protobuf from 'protobufjs';

import { FlowCodecError, FlowsError } from '../errors.js';
import type { Flow, FlowFilter, GetFlowsRequest, GetFlowsResponse, LostEvent, ServerStatus } from '../model.js';
import { flowFromMessage, flowToMessage } from './flow.js';
import { flowsSchema } from './schema.js';
import {
  checkBoolean,
  checkString,
  checkStrings,
  checkUnsigned,
  describe,
  enumName,
  enumNumber,
  has,
  longToNumber,
  type Message,
  put,
  timeFromMessage,
  timeToMessage,
} from './values.js';

// Hubble's LostEventSource for Twill's source names; the exact name rides in `source_name`.
const LOST_SOURCE_TO_HUBBLE: ReadonlyMap<string, string> = new Map([
  ['ebpf-ringbuf', 'PERF_EVENT_RING_BUFFER'],
  ['observer', 'OBSERVER_EVENTS_QUEUE'],
  ['ring', 'HUBBLE_RING_BUFFER'],
]);
const LOST_SOURCE_FROM_HUBBLE: ReadonlyMap<string, string> = new Map([
  ['PERF_EVENT_RING_BUFFER', 'ebpf-ringbuf'],
  ['OBSERVER_EVENTS_QUEUE', 'observer'],
  ['HUBBLE_RING_BUFFER', 'ring'],
]);

const FILTER_STRING_FIELDS = [
  'uuid',
  'sourceIp',
  'sourcePod',
  'sourceLabel',
  'destinationIp',
  'destinationPod',
  'destinationLabel',
  'sourcePort',
  'destinationPort',
  'protocol',
  'httpStatusCode',
  'httpMethod',
  'httpPath',
  'httpUrl',
  'nodeName',
  'policy',
] as const;
const FILTER_ENUM_FIELDS = [
  ['verdict', 'flow.Verdict'],
  ['dropReasonDesc', 'flow.DropReason'],
  ['trafficDirection', 'flow.TrafficDirection'],
] as const;

function lookupEnum(name: string): protobuf.Enum {
  return flowsSchema().root.lookupEnum(name);
}

function encodeWith(type: protobuf.Type, name: string, build: () => Message): Uint8Array {
  const message = build();
  try {
    return type.encode(message).finish();
  } catch (e) {
    if (e instanceof FlowsError) throw e;
    throw new FlowCodecError(name, `cannot be encoded: ${(e as Error).message}`, { cause: e });
  }
}

function decodeWith<T>(type: protobuf.Type, name: string, bytes: Uint8Array, convert: (m: Message) => T): T {
  if (!(bytes instanceof Uint8Array)) throw new FlowCodecError(name, `${describe(bytes)} is not a Uint8Array`);
  let message: Message;
  try {
    message = type.decode(bytes) as unknown as Message;
  } catch (e) {
    throw new FlowCodecError(name, `malformed ${type.name}: ${(e as Error).message}`, { cause: e });
  }
  try {
    return convert(message);
  } catch (e) {
    if (e instanceof FlowsError) throw e;
    throw new FlowCodecError(name, `malformed ${type.name}: ${(e as Error).message}`, { cause: e });
  }
}

// ---- flow ----------------------------------------------------------------------------

/** Encodes a flow as a `flow.Flow` message. @throws FlowCodecError naming a field the schema cannot carry. */
export function encodeFlow(flow: Flow): Uint8Array {
  return encodeWith(flowsSchema().Flow, 'flow', () => flowToMessage(flow));
}

/** Decodes a `flow.Flow` message. @throws FlowCodecError on malformed bytes or values the model cannot hold (an unknown verdict). */
export function decodeFlow(bytes: Uint8Array): Flow {
  return decodeWith(flowsSchema().Flow, 'flow', bytes, (m) => flowFromMessage(m));
}

// ---- filters and requests ----------------------------------------------------------------

function filterToMessage(value: unknown, path: string): Message {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new FlowCodecError(path, `${describe(value)} is not a flow filter`);
  }
  const f = value as Record<string, unknown>;
  const m: Message = {};
  for (const key of FILTER_STRING_FIELDS) if (f[key] !== undefined) m[key] = checkStrings(f[key], `${path}.${key}`);
  for (const [key, enumType] of FILTER_ENUM_FIELDS) {
    const values = f[key];
    if (values === undefined) continue;
    if (!Array.isArray(values)) throw new FlowCodecError(`${path}.${key}`, `${describe(values)} is not an array`);
    const type = lookupEnum(enumType);
    m[key] = values.map((v, i) => enumNumber(type, v, `${path}.${key}[${i}]`));
  }
  if (f.reply !== undefined) {
    if (!Array.isArray(f.reply)) throw new FlowCodecError(`${path}.reply`, `${describe(f.reply)} is not an array`);
    m.reply = f.reply.map((v, i) => checkBoolean(v, `${path}.reply[${i}]`));
  }
  const known = new Set<string>([...FILTER_STRING_FIELDS, ...FILTER_ENUM_FIELDS.map(([k]) => k), 'reply']);
  for (const key of Object.keys(f)) {
    if (!known.has(key) && f[key] !== undefined) throw new FlowCodecError(`${path}.${key}`, 'is not a flow filter field');
  }
  return m;
}

function filterFromMessage(m: Message, path: string): FlowFilter {
  const f: Record<string, unknown> = {};
  for (const key of FILTER_STRING_FIELDS) {
    const values = m[key] as string[] | undefined;
    if (values !== undefined && values.length > 0) f[key] = values;
  }
  for (const [key, enumType] of FILTER_ENUM_FIELDS) {
    const values = m[key] as number[] | undefined;
    if (values === undefined || values.length === 0) continue;
    const type = lookupEnum(enumType);
    f[key] = values.map((v, i) => enumName(type, v, `${path}.${key}[${i}]`));
  }
  const reply = m.reply as boolean[] | undefined;
  if (reply !== undefined && reply.length > 0) f.reply = reply;
  return f as FlowFilter;
}

function filtersToMessage(value: unknown, path: string): Message[] {
  if (!Array.isArray(value)) throw new FlowCodecError(path, `${describe(value)} is not an array`);
  return value.map((f, i) => filterToMessage(f, `${path}[${i}]`));
}

/** Encodes an `observer.GetFlowsRequest`. @throws FlowCodecError naming a value the schema cannot carry (`whitelist[0].verdict[0]`). */
export function encodeGetFlowsRequest(request: GetFlowsRequest): Uint8Array {
  return encodeWith(flowsSchema().GetFlowsRequest, 'request', () => {
    if (request === null || typeof request !== 'object') throw new FlowCodecError('request', `${describe(request)} is not a request`);
    const m: Message = {};
    if (request.number !== undefined) m.number = checkUnsigned(request.number, 'number', Number.MAX_SAFE_INTEGER);
    if (request.first !== undefined) m.first = checkBoolean(request.first, 'first');
    if (request.follow !== undefined) m.follow = checkBoolean(request.follow, 'follow');
    if (request.whitelist !== undefined) m.whitelist = filtersToMessage(request.whitelist, 'whitelist');
    if (request.blacklist !== undefined) m.blacklist = filtersToMessage(request.blacklist, 'blacklist');
    if (request.since !== undefined) m.since = timeToMessage(request.since, 'since');
    if (request.until !== undefined) m.until = timeToMessage(request.until, 'until');
    return m;
  });
}

// Hubble's FlowFilter fields that Twill does not serve, by field number. protobufjs skips
// unknown fields; a filter that silently lost one would select more than its sender
// asked for, so the request is refused instead, naming the field.
const UNSERVED_FILTER_FIELDS: ReadonlyMap<number, string> = new Map([
  [6, 'eventType'],
  [7, 'sourceFqdn'],
  [8, 'destinationFqdn'],
  [16, 'sourceService'],
  [17, 'destinationService'],
  [18, 'dnsQuery'],
  [19, 'sourceIdentity'],
  [20, 'destinationIdentity'],
  [23, 'tcpFlags'],
  [25, 'ipVersion'],
  [26, 'sourceWorkload'],
  [27, 'destinationWorkload'],
  [28, 'traceId'],
  [32, 'httpHeader'],
  [34, 'sourceIpXlated'],
  [35, 'interface'],
  [36, 'nodeLabels'],
  [37, 'sourceClusterName'],
  [38, 'destinationClusterName'],
]);

/** Throws a FlowCodecError for a filter field of the (already well-formed) request that the schema does not declare. */
function refuseUnservedFilters(bytes: Uint8Array): void {
  const { GetFlowsRequest, FlowFilter } = flowsSchema();
  const lists = new Map<number, string>([
    [GetFlowsRequest.fields.whitelist?.id ?? 6, 'whitelist'],
    [GetFlowsRequest.fields.blacklist?.id ?? 5, 'blacklist'],
  ]);
  const seen = new Map<string, number>();
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const list = lists.get(tag >>> 3);
    if (list === undefined || (tag & 7) !== 2) {
      reader.skipType(tag & 7);
      continue;
    }
    const index = seen.get(list) ?? 0;
    seen.set(list, index + 1);
    const inner = protobuf.Reader.create(reader.bytes());
    while (inner.pos < inner.len) {
      const innerTag = inner.uint32();
      const field = innerTag >>> 3;
      if (FlowFilter.fieldsById[field] === undefined) {
        const name = UNSERVED_FILTER_FIELDS.get(field);
        throw new FlowCodecError(`${list}[${index}].${name ?? `field ${field}`}`, 'is not a filter Twill serves');
      }
      inner.skipType(innerTag & 7);
    }
  }
}

/** Decodes an `observer.GetFlowsRequest`; empty filter lists read back absent. @throws FlowCodecError, also for a Hubble filter field Twill does not serve (`whitelist[0].sourceFqdn`). */
export function decodeGetFlowsRequest(bytes: Uint8Array): GetFlowsRequest {
  return decodeWith(flowsSchema().GetFlowsRequest, 'request', bytes, (m) => {
    refuseUnservedFilters(bytes);
    const r: { -readonly [K in keyof GetFlowsRequest]: GetFlowsRequest[K] } = {};
    if (has(m, 'number')) r.number = longToNumber(m.number, 'number');
    if (has(m, 'first')) r.first = m.first as boolean;
    if (has(m, 'follow')) r.follow = m.follow as boolean;
    const whitelist = (m.whitelist as Message[]).map((f, i) => filterFromMessage(f, `whitelist[${i}]`));
    if (whitelist.length > 0) r.whitelist = whitelist;
    const blacklist = (m.blacklist as Message[]).map((f, i) => filterFromMessage(f, `blacklist[${i}]`));
    if (blacklist.length > 0) r.blacklist = blacklist;
    if (has(m, 'since')) r.since = timeFromMessage(m.since as Message, 'since');
    if (has(m, 'until')) r.until = timeFromMessage(m.until as Message, 'until');
    return r;
  });
}

// ---- responses -----------------------------------------------------------------------

function lostEventToMessage(value: unknown, path: string): Message {
  if (value === null || typeof value !== 'object') throw new FlowCodecError(path, `${describe(value)} is not a lost event`);
  const e = value as Record<string, unknown>;
  const sourceName = checkString(e.source, `${path}.source`);
  const hubble = LOST_SOURCE_TO_HUBBLE.get(sourceName) ?? 'UNKNOWN_LOST_EVENT_SOURCE';
  const m: Message = {};
  put(m, 'source', enumNumber(lookupEnum('flow.LostEventSource'), hubble, `${path}.source`));
  put(m, 'numEventsLost', checkUnsigned(e.numEventsLost, `${path}.numEventsLost`, Number.MAX_SAFE_INTEGER));
  put(m, 'sourceName', sourceName);
  return m;
}

function lostEventFromMessage(m: Message, path: string): LostEvent {
  const hubble = enumName(lookupEnum('flow.LostEventSource'), has(m, 'source') ? m.source : 0, `${path}.source`);
  const named = has(m, 'sourceName') ? (m.sourceName as string) : '';
  return {
    source: named !== '' ? named : (LOST_SOURCE_FROM_HUBBLE.get(hubble) ?? 'unknown'),
    numEventsLost: has(m, 'numEventsLost') ? longToNumber(m.numEventsLost, `${path}.numEventsLost`) : 0,
  };
}

/** Encodes an `observer.GetFlowsResponse` (a flow, or lost events). @throws FlowCodecError naming a bad field. */
export function encodeGetFlowsResponse(response: GetFlowsResponse): Uint8Array {
  return encodeWith(flowsSchema().GetFlowsResponse, 'response', () => {
    if (response === null || typeof response !== 'object') throw new FlowCodecError('response', `${describe(response)} is not a response`);
    const m: Message = { time: timeToMessage(response.time, 'response.time') };
    put(m, 'nodeName', checkString(response.nodeName, 'response.nodeName'));
    if ('flow' in response && response.flow !== undefined) m.flow = flowToMessage(response.flow, 'response.flow');
    else if ('lostEvents' in response && response.lostEvents !== undefined) {
      m.lostEvents = lostEventToMessage(response.lostEvents, 'response.lostEvents');
    } else throw new FlowCodecError('response', 'holds neither flow nor lostEvents');
    return m;
  });
}

/** Decodes an `observer.GetFlowsResponse`. @throws FlowCodecError on malformed bytes or a response with neither a flow nor lost events. */
export function decodeGetFlowsResponse(bytes: Uint8Array): GetFlowsResponse {
  return decodeWith(flowsSchema().GetFlowsResponse, 'response', bytes, (m) => {
    const nodeName = has(m, 'nodeName') ? (m.nodeName as string) : '';
    const time = has(m, 'time') ? timeFromMessage(m.time as Message, 'response.time') : { seconds: 0, nanos: 0 };
    if (has(m, 'flow')) return { flow: flowFromMessage(m.flow as Message, 'response.flow'), nodeName, time };
    if (has(m, 'lostEvents')) return { lostEvents: lostEventFromMessage(m.lostEvents as Message, 'response.lostEvents'), nodeName, time };
    throw new FlowCodecError('response', 'holds neither flow nor lostEvents');
  });
}

// ---- status --------------------------------------------------------------------------

const STATUS_COUNTERS = ['numFlows', 'maxFlows', 'seenFlows', 'uptimeNs', 'numLostEvents'] as const;

/** Encodes an `observer.ServerStatusResponse`. @throws FlowCodecError naming a bad counter. */
export function encodeServerStatus(status: ServerStatus): Uint8Array {
  return encodeWith(flowsSchema().ServerStatusResponse, 'status', () => {
    if (status === null || typeof status !== 'object') throw new FlowCodecError('status', `${describe(status)} is not a status`);
    const m: Message = {};
    put(m, 'nodeName', checkString(status.nodeName, 'status.nodeName'));
    put(m, 'version', checkString(status.version, 'status.version'));
    for (const key of STATUS_COUNTERS) put(m, key, checkUnsigned(status[key], `status.${key}`, Number.MAX_SAFE_INTEGER));
    return m;
  });
}

/** Decodes an `observer.ServerStatusResponse`. @throws FlowCodecError. */
export function decodeServerStatus(bytes: Uint8Array): ServerStatus {
  return decodeWith(flowsSchema().ServerStatusResponse, 'status', bytes, (m) => {
    const counters = Object.fromEntries(
      STATUS_COUNTERS.map((key) => [key, has(m, key) ? longToNumber(m[key], `status.${key}`) : 0]),
    ) as Record<(typeof STATUS_COUNTERS)[number], number>;
    return {
      ...counters,
      nodeName: has(m, 'nodeName') ? (m.nodeName as string) : '',
      version: has(m, 'version') ? (m.version as string) : '',
    };
  });
}

/** Encodes the empty `observer.ServerStatusRequest`. */
export function encodeServerStatusRequest(): Uint8Array {
  return new Uint8Array(0);
}

/** Decodes an `observer.ServerStatusRequest` (it has no fields; unknown ones are skipped). @throws FlowCodecError on malformed bytes. */
export function decodeServerStatusRequest(bytes: Uint8Array): Record<string, never> {
  return decodeWith(flowsSchema().ServerStatusRequest, 'statusRequest', bytes, () => ({}));
}
