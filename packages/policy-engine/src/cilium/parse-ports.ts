// `toPorts` (ports, protocols, L7 rules) and `icmps` of Cilium rules, with the checks
// of cilium `pkg/policy/api/rule_validation.go` (at most 40 ports or ICMP fields, L7
// rules only over TCP except DNS, one L7 parser per port rule).

import { FieldError, POLICY_ERROR_CODE } from '../errors.js';
import { describe, type DocumentReader, join } from '../internal/document.js';
import { portNameProblem } from '../kubernetes/names.js';
import { compileHttpPattern } from '../l7/http-match.js';
import { CILIUM_PROTOCOLS, type CiliumHttpRule, type CiliumIcmpField, type CiliumL7Rules, type CiliumPortProtocol, type CiliumPortRule, type CiliumProtocol } from './types.js';

/** Cilium's limit on ports per port rule and on ICMP fields per ICMP rule (`maxPorts`, `maxICMPFields`). */
export const CILIUM_MAX_PORTS = 40;

/** Where a rule sits, which changes what its port rules may hold. */
export interface PortContext {
  readonly direction: 'ingress' | 'egress';
  /** Deny rules have no L7 rules (`PortDenyRule`). */
  readonly deny: boolean;
  /** Host policies (nodeSelector) have no L7 rules. */
  readonly host: boolean;
}

function readPortProtocol(reader: DocumentReader, value: unknown, path: string): CiliumPortProtocol | undefined {
  const object = reader.object(value, path);
  if (object === undefined) return undefined;
  reader.knownFields(object, ['port', 'endPort', 'protocol'], path);
  const before = reader.errors.length;
  const protocolValue = reader.field(object, 'protocol');
  const protocolText = protocolValue === undefined ? 'ANY' : reader.string(protocolValue, join(path, 'protocol'));
  if (protocolText !== undefined && !(CILIUM_PROTOCOLS as readonly string[]).includes(protocolText)) {
    reader.fail(POLICY_ERROR_CODE.INVALID_VALUE, join(path, 'protocol'), `unsupported protocol ${JSON.stringify(protocolText)}: must be one of ${CILIUM_PROTOCOLS.join(', ')}`);
  }
  // The CRD types port as a string: "80", or a port name.
  const portValue = reader.field(object, 'port');
  let port: number | string | undefined;
  const portText = portValue === undefined ? undefined : reader.string(portValue, join(path, 'port'));
  if (portText !== undefined) {
    if (/^\d+$/.test(portText)) {
      port = Number(portText);
      if (port > 65535) reader.fail(POLICY_ERROR_CODE.INVALID_PORT, join(path, 'port'), `port ${portText} out of range: must be 0-65535`);
    } else {
      port = portText.toLowerCase();
      const problem = portNameProblem(port);
      if (problem !== undefined) reader.fail(POLICY_ERROR_CODE.INVALID_PORT, join(path, 'port'), `invalid port name ${JSON.stringify(portText)}: ${problem}`);
    }
  }
  const endPortValue = reader.field(object, 'endPort');
  const endPort = endPortValue === undefined ? undefined : reader.integer(endPortValue, join(path, 'endPort'));
  if (endPort !== undefined) {
    const endPath = join(path, 'endPort');
    if (typeof port !== 'number' || port === 0) reader.fail(POLICY_ERROR_CODE.FORBIDDEN, endPath, 'needs a port number other than 0');
    else if (endPort > 65535) reader.fail(POLICY_ERROR_CODE.INVALID_PORT, endPath, `port ${endPort} out of range: must be 0-65535`);
    else if (endPort < port) reader.fail(POLICY_ERROR_CODE.INVALID_PORT, endPath, `${endPort} is less than port ${port}`);
  }
  if (reader.errors.length > before) return undefined;
  return {
    ...(port === undefined ? {} : { port }),
    ...(endPort === undefined ? {} : { endPort }),
    protocol: protocolText as CiliumProtocol,
  };
}

// Cilium hands method, path and host to Envoy as RE2 patterns; the agent's matcher compiles
// them with the same parser, so a pattern it would refuse (bad syntax, lookaround,
// backreferences, too large) fails here, at parse time, naming the field.
function validPattern(reader: DocumentReader, text: string, path: string): void {
  try {
    compileHttpPattern(text, path);
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    reader.errors.push(error);
  }
}

function readHttpRule(reader: DocumentReader, value: unknown, path: string): CiliumHttpRule | undefined {
  const object = reader.object(value, path);
  if (object === undefined) return undefined;
  reader.knownFields(object, ['method', 'path', 'host', 'headers', 'headerMatches'], path);
  const before = reader.errors.length;
  const text = (key: string): string | undefined => {
    const field = reader.field(object, key);
    const result = field === undefined ? undefined : reader.string(field, join(path, key));
    if (result !== undefined && result !== '') validPattern(reader, result, join(path, key));
    return result === '' ? undefined : result;
  };
  const method = text('method');
  const httpPath = text('path');
  const host = text('host');
  const headers: { name: string; value?: string }[] = [];
  const headersValue = reader.field(object, 'headers');
  if (headersValue !== undefined) {
    reader.array(headersValue, join(path, 'headers'))?.forEach((entry, index) => {
      const header = reader.string(entry, `${join(path, 'headers')}[${index}]`);
      if (header === undefined) return;
      // Cilium's Envoy translation: "Name value" needs the value, "Name" only presence; a ':' after the name is dropped.
      const space = header.indexOf(' ');
      const name = (space < 0 ? header : header.slice(0, space)).replace(/:+$/, '');
      if (name === '') reader.fail(POLICY_ERROR_CODE.INVALID_VALUE, `${join(path, 'headers')}[${index}]`, 'a header needs a name');
      else headers.push(space < 0 ? { name } : { name, value: header.slice(space + 1) });
    });
  }
  const matchesValue = reader.field(object, 'headerMatches');
  if (matchesValue !== undefined) {
    reader.array(matchesValue, join(path, 'headerMatches'))?.forEach((entry, index) => {
      const entryPath = `${join(path, 'headerMatches')}[${index}]`;
      const match = reader.object(entry, entryPath);
      if (match === undefined) return;
      reader.knownFields(match, ['name', 'value', 'mismatch', 'secret'], entryPath);
      for (const key of ['mismatch', 'secret']) {
        if (reader.field(match, key) !== undefined) reader.fail(POLICY_ERROR_CODE.UNSUPPORTED, join(entryPath, key), 'not supported yet');
      }
      const nameValue = reader.field(match, 'name');
      const name = nameValue === undefined ? reader.fail(POLICY_ERROR_CODE.REQUIRED, join(entryPath, 'name'), 'required') : reader.string(nameValue, join(entryPath, 'name'));
      const headerValue = reader.field(match, 'value');
      const text2 = headerValue === undefined ? undefined : reader.string(headerValue, join(entryPath, 'value'));
      if (name !== undefined) headers.push(text2 === undefined ? { name } : { name, value: text2 });
    });
  }
  if (reader.errors.length > before) return undefined;
  return {
    ...(method === undefined ? {} : { method }),
    ...(httpPath === undefined ? {} : { path: httpPath }),
    ...(host === undefined ? {} : { host }),
    headers,
  };
}

function readOpaque(reader: DocumentReader, value: unknown, path: string): Readonly<Record<string, unknown>>[] | undefined {
  const list = reader.array(value, path);
  if (list === undefined) return undefined;
  const rules: Record<string, unknown>[] = [];
  list.forEach((entry, index) => {
    const object = reader.object(entry, `${path}[${index}]`);
    if (object !== undefined) rules.push(object);
  });
  return rules;
}

function readL7(reader: DocumentReader, value: unknown, path: string, context: PortContext, ports: readonly CiliumPortProtocol[]): CiliumL7Rules | undefined {
  const object = reader.object(value, path);
  if (object === undefined) return undefined;
  reader.knownFields(object, ['http', 'kafka', 'dns', 'l7proto', 'l7'], path);
  if (context.host) return reader.fail(POLICY_ERROR_CODE.FORBIDDEN, path, 'L7 rules are not allowed in host policies (nodeSelector)');
  const present = ['http', 'kafka', 'dns', 'l7'].filter((key) => reader.field(object, key) !== undefined);
  if (present.length > 1) return reader.fail(POLICY_ERROR_CODE.FORBIDDEN, path, `only one of ${present.join(', ')} may be set`);
  const kind = present[0];
  if (kind === undefined) return undefined;
  if (kind === 'dns' && context.direction === 'ingress') return reader.fail(POLICY_ERROR_CODE.FORBIDDEN, join(path, 'dns'), 'DNS rules are only allowed on egress');
  if (kind !== 'dns') {
    const index = ports.findIndex((p) => p.protocol === 'UDP' || p.protocol === 'SCTP');
    if (index >= 0) return reader.fail(POLICY_ERROR_CODE.FORBIDDEN, join(path, kind), `L7 rules can only apply to TCP (not ${ports[index]?.protocol ?? ''}) except for DNS rules`);
  }
  const l7proto = reader.field(object, 'l7proto');
  if (kind === 'l7' && l7proto === undefined) return reader.fail(POLICY_ERROR_CODE.REQUIRED, join(path, 'l7proto'), 'required with l7');
  if (kind === 'http') {
    const list = reader.array(reader.field(object, 'http'), join(path, 'http'));
    const rules = list?.map((entry, index) => readHttpRule(reader, entry, `${join(path, 'http')}[${index}]`));
    return rules === undefined || rules.some((r) => r === undefined) ? undefined : { kind: 'http', rules: rules as CiliumHttpRule[] };
  }
  const parser = kind === 'l7' ? reader.string(l7proto, join(path, 'l7proto')) : kind;
  const rules = readOpaque(reader, reader.field(object, kind), join(path, kind));
  return parser === undefined || rules === undefined ? undefined : { kind: 'opaque', parser, rules };
}

/** Reads one `toPorts` entry. */
export function readPortRule(reader: DocumentReader, value: unknown, path: string, context: PortContext): CiliumPortRule | undefined {
  const object = reader.object(value, path);
  if (object === undefined) return undefined;
  const known = context.deny ? ['ports'] : ['ports', 'rules', 'terminatingTLS', 'originatingTLS', 'serverNames', 'listener'];
  reader.knownFields(object, known, path);
  const before = reader.errors.length;
  for (const key of ['terminatingTLS', 'originatingTLS', 'serverNames', 'listener']) {
    if (!context.deny && reader.field(object, key) !== undefined) reader.fail(POLICY_ERROR_CODE.UNSUPPORTED, join(path, key), 'not supported yet');
  }
  const ports: CiliumPortProtocol[] = [];
  const portsValue = reader.field(object, 'ports');
  if (portsValue !== undefined) {
    const list = reader.array(portsValue, join(path, 'ports'));
    if (list !== undefined && list.length > CILIUM_MAX_PORTS) {
      reader.fail(POLICY_ERROR_CODE.INVALID_VALUE, join(path, 'ports'), `at most ${CILIUM_MAX_PORTS} ports are allowed, found ${list.length}`);
    }
    list?.forEach((entry, index) => {
      const port = readPortProtocol(reader, entry, `${join(path, 'ports')}[${index}]`);
      if (port !== undefined) ports.push(port);
    });
  }
  const rulesValue = context.deny ? undefined : reader.field(object, 'rules');
  const rules = rulesValue === undefined || reader.errors.length > before ? undefined : readL7(reader, rulesValue, join(path, 'rules'), context, ports);
  if (reader.errors.length > before) return undefined;
  return { ports, ...(rules === undefined ? {} : { rules }) };
}

// IANA ICMP and ICMPv6 type names that Cilium accepts in `icmps[].fields[].type`.
const ICMP_TYPES: Readonly<Record<'IPv4' | 'IPv6', Readonly<Record<string, number>>>> = {
  IPv4: {
    EchoReply: 0, DestinationUnreachable: 3, Redirect: 5, EchoRequest: 8, RouterAdvertisement: 9, RouterSelection: 10,
    TimeExceeded: 11, ParameterProblem: 12, Timestamp: 13, TimestampReply: 14, Photuris: 40, ExtendedEchoRequest: 42, ExtendedEchoReply: 43,
  },
  IPv6: {
    DestinationUnreachable: 1, PacketTooBig: 2, TimeExceeded: 3, ParameterProblem: 4, EchoRequest: 128, EchoReply: 129,
    MulticastListenerQuery: 130, MulticastListenerReport: 131, MulticastListenerDone: 132, RouterSolicitation: 133,
    RouterAdvertisement: 134, NeighborSolicitation: 135, NeighborAdvertisement: 136, RedirectMessage: 137,
  },
};

function readIcmpField(reader: DocumentReader, value: unknown, path: string): CiliumIcmpField | undefined {
  const object = reader.object(value, path);
  if (object === undefined) return undefined;
  reader.knownFields(object, ['family', 'type'], path);
  const familyValue = reader.field(object, 'family');
  const family = familyValue === undefined ? 'IPv4' : reader.string(familyValue, join(path, 'family'));
  if (family !== undefined && family !== 'IPv4' && family !== 'IPv6') {
    return reader.fail(POLICY_ERROR_CODE.INVALID_VALUE, join(path, 'family'), `unsupported family ${JSON.stringify(family)}: must be IPv4 or IPv6`);
  }
  const typeValue = reader.field(object, 'type');
  const typePath = join(path, 'type');
  if (typeValue === undefined) return reader.fail(POLICY_ERROR_CODE.REQUIRED, typePath, 'required');
  let type: number | undefined;
  if (typeof typeValue === 'number' && Number.isInteger(typeValue) && typeValue >= 0 && typeValue <= 255) type = typeValue;
  else if (typeof typeValue === 'string' && family !== undefined) {
    type = /^\d+$/.test(typeValue) && Number(typeValue) <= 255 ? Number(typeValue) : ICMP_TYPES[family][typeValue];
  }
  if (type === undefined) return reader.fail(POLICY_ERROR_CODE.INVALID_VALUE, typePath, `invalid ICMP type ${describe(typeValue)}: must be 0-255 or an ICMP type name`);
  return family === undefined ? undefined : { family, type };
}

/** Reads a rule's `icmps` into its fields. */
export function readIcmps(reader: DocumentReader, value: unknown, path: string): CiliumIcmpField[] {
  const fields: CiliumIcmpField[] = [];
  reader.array(value, path)?.forEach((entry, index) => {
    const entryPath = `${path}[${index}]`;
    const object = reader.object(entry, entryPath);
    if (object === undefined) return;
    reader.knownFields(object, ['fields'], entryPath);
    const list = reader.array(reader.field(object, 'fields') ?? [], join(entryPath, 'fields'));
    if (list !== undefined && list.length > CILIUM_MAX_PORTS) {
      reader.fail(POLICY_ERROR_CODE.INVALID_VALUE, join(entryPath, 'fields'), `at most ${CILIUM_MAX_PORTS} fields are allowed, found ${list.length}`);
    }
    list?.forEach((field, fieldIndex) => {
      const read = readIcmpField(reader, field, `${join(entryPath, 'fields')}[${fieldIndex}]`);
      if (read !== undefined) fields.push(read);
    });
  });
  return fields;
}
