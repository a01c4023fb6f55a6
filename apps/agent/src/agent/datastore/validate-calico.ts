// Calico's node and routing kinds (projectcalico.org/v3): Node, BGPPeer,
// BGPConfiguration and IPPool, checked field by field as Calico's validator checks them
// (AS numbers 1..4294967295, addresses and CIDRs, selectors, exclusive fields). The
// policy kinds are the policy engine's to check (validate.ts).
import { parseCalicoSelector, PolicyEngineError } from '@twill/policy-engine';

import { describeValue, dnsSubdomainProblem, fieldPath, type FieldReader, parseCidr, parseIp } from './fields.js';

const TOP_LEVEL = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

/** The largest 4-byte AS number (RFC 6793). */
export const MAX_AS_NUMBER = 4294967295;

function asNumber(reader: FieldReader, parent: Record<string, unknown>, path: string): number | undefined {
  return reader.optionalInteger(parent, 'asNumber', path, 1, MAX_AS_NUMBER);
}

function selector(reader: FieldReader, parent: Record<string, unknown>, key: string, path: string): string | undefined {
  const text = reader.optionalString(parent, key, path);
  if (text === undefined) return undefined;
  try {
    parseCalicoSelector(text);
  } catch (error) {
    if (error instanceof PolicyEngineError) return reader.fail(fieldPath(path, key), error.reason);
    throw error;
  }
  return text;
}

function ipField(reader: FieldReader, parent: Record<string, unknown>, key: string, path: string, family?: 4 | 6): void {
  const text = reader.optionalString(parent, key, path);
  if (text === undefined) return;
  const ip = parseIp(text);
  if (ip === undefined || (family !== undefined && ip.family !== family)) {
    reader.fail(fieldPath(path, key), `invalid IPv${family ?? '4 or IPv6'} address ${JSON.stringify(text)}`);
  }
}

// An interface address: `10.0.0.1/24` (the host's address in its subnet) or a bare address.
function interfaceAddress(reader: FieldReader, parent: Record<string, unknown>, key: string, path: string, family: 4 | 6): void {
  const text = reader.optionalString(parent, key, path);
  if (text === undefined) return;
  const parsed = text.includes('/') ? parseCidr(text) : parseIp(text);
  if (parsed === undefined || parsed.family !== family) {
    reader.fail(fieldPath(path, key), `invalid IPv${family} address ${JSON.stringify(text)}: expected an address with its prefix length, such as ${family === 4 ? '"10.0.0.1/24"' : '"fd00::1/64"'}`);
  }
}

// A CIDR whose host bits are zero: `10.0.0.1/16` is refused with the network it means.
function networkCidr(reader: FieldReader, value: unknown, path: string): ReturnType<typeof parseCidr> {
  const text = reader.string(value, path);
  if (text === undefined) return undefined;
  const cidr = parseCidr(text);
  if (cidr === undefined) return reader.fail(path, `invalid CIDR ${JSON.stringify(text)}`);
  if (`${cidr.address.toString()}/${cidr.prefixLength}` !== cidr.network) {
    return reader.fail(path, `${JSON.stringify(text)} has host bits set: the network is ${JSON.stringify(cidr.network)}`);
  }
  return cidr;
}

function duration(reader: FieldReader, parent: Record<string, unknown>, key: string, path: string): void {
  const text = reader.optionalString(parent, key, path);
  // Go's time.ParseDuration syntax, as Calico reads these fields.
  if (text !== undefined && !/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) {
    reader.fail(fieldPath(path, key), `invalid duration ${JSON.stringify(text)}: expected a Go duration such as "120s" or "2m"`);
  }
}

// A Secret's key: what Kubernetes accepts as a Secret or ConfigMap key (at most 253 of
// letters, digits, '-', '_' and '.', and not "." nor "..").
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

// `password`: Calico's `{secretKeyRef: {name, key}}`, a key of a Secret in the agent's own
// namespace, read by the BGP controller when it starts the session (a datastore without
// Secrets leaves that session down and says why); or the password inline as a string,
// twill's form for the embedded datastore.
function password(reader: FieldReader, parent: Record<string, unknown>, key: string, path: string): void {
  const value = parent[key];
  if (value === undefined || typeof value === 'string') return;
  const where = fieldPath(path, key);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    reader.fail(where, `must be a string or {secretKeyRef: {name, key}}, not ${describeValue(value)}`);
    return;
  }
  const body = value as Record<string, unknown>;
  reader.knownFields(body, ['secretKeyRef'], where);
  const refPath = fieldPath(where, 'secretKeyRef');
  const ref = body['secretKeyRef'] === undefined ? reader.fail(refPath, 'required (the Secret and key that hold the password)') : reader.object(body['secretKeyRef'], refPath);
  if (ref === undefined) return;
  reader.knownFields(ref, ['name', 'key'], refPath);
  const name = ref['name'] === undefined ? reader.fail(fieldPath(refPath, 'name'), 'required (the Secret\'s name)') : reader.string(ref['name'], fieldPath(refPath, 'name'));
  const nameProblem = name === undefined ? undefined : dnsSubdomainProblem(name);
  if (nameProblem !== undefined) reader.fail(fieldPath(refPath, 'name'), nameProblem);
  const secretKey = ref['key'] === undefined ? reader.fail(fieldPath(refPath, 'key'), 'required (the key in the Secret\'s data)') : reader.string(ref['key'], fieldPath(refPath, 'key'));
  if (secretKey !== undefined && (secretKey.length > 253 || !SECRET_KEY.test(secretKey) || secretKey === '.' || secretKey === '..')) {
    reader.fail(fieldPath(refPath, 'key'), `${JSON.stringify(secretKey)} is not a Secret key (letters, digits, '-', '_' and '.', at most 253)`);
  }
}

/** Checks a Calico Node: `spec.bgp` (addresses, AS number), `spec.addresses`, `spec.orchRefs`. */
export function checkCalicoNode(reader: FieldReader, doc: Record<string, unknown>): void {
  reader.knownFields(doc, TOP_LEVEL, '');
  reader.optionalObject(doc, 'status', '');
  const spec = reader.optionalObject(doc, 'spec', '');
  if (spec === undefined) return;
  reader.knownFields(spec, ['bgp', 'addresses', 'orchRefs', 'ipv4VXLANTunnelAddr', 'ipv6VXLANTunnelAddr', 'vxlanTunnelMACAddr', 'vxlanTunnelMACAddrV6', 'wireguard'], 'spec');
  const bgp = reader.optionalObject(spec, 'bgp', 'spec');
  if (bgp !== undefined) {
    reader.knownFields(bgp, ['ipv4Address', 'ipv6Address', 'asNumber', 'routeReflectorClusterID', 'ipv4IPIPTunnelAddr'], 'spec.bgp');
    interfaceAddress(reader, bgp, 'ipv4Address', 'spec.bgp', 4);
    interfaceAddress(reader, bgp, 'ipv6Address', 'spec.bgp', 6);
    asNumber(reader, bgp, 'spec.bgp');
    ipField(reader, bgp, 'routeReflectorClusterID', 'spec.bgp', 4);
    ipField(reader, bgp, 'ipv4IPIPTunnelAddr', 'spec.bgp', 4);
  }
  ipField(reader, spec, 'ipv4VXLANTunnelAddr', 'spec', 4);
  ipField(reader, spec, 'ipv6VXLANTunnelAddr', 'spec', 6);
  reader.optionalList(spec, 'addresses', 'spec', (item, path) => {
    const entry = reader.object(item, path);
    if (entry === undefined) return;
    reader.knownFields(entry, ['address', 'type'], path);
    const address = entry['address'] === undefined ? reader.fail(fieldPath(path, 'address'), 'required') : reader.string(entry['address'], fieldPath(path, 'address'));
    if (address !== undefined && (address.includes('/') ? parseCidr(address) : parseIp(address)) === undefined) {
      reader.fail(fieldPath(path, 'address'), `invalid address ${JSON.stringify(address)}`);
    }
    reader.optionalChoice(entry, 'type', path, ['CalicoNodeIP', 'InternalIP', 'ExternalIP']);
  });
  reader.optionalList(spec, 'orchRefs', 'spec', (item, path) => {
    const entry = reader.object(item, path);
    if (entry === undefined) return;
    reader.knownFields(entry, ['nodeName', 'orchestrator'], path);
    reader.optionalString(entry, 'nodeName', path);
    reader.optionalString(entry, 'orchestrator', path);
  });
}

// `peerIP`: an address, optionally with a port (`10.0.0.2:1179`, `[fd00::2]:1179`).
function peerIp(reader: FieldReader, spec: Record<string, unknown>): void {
  const text = reader.optionalString(spec, 'peerIP', 'spec');
  if (text === undefined) return;
  let address = text;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  const v4Port = /^([\d.]+):(\d+)$/.exec(text);
  if (bracketed !== null) [, address = '', port] = bracketed;
  else if (v4Port !== null) [, address = '', port] = v4Port;
  if (parseIp(address) === undefined || (port !== undefined && (Number(port) < 1 || Number(port) > 65535))) {
    reader.fail('spec.peerIP', `invalid peer address ${JSON.stringify(text)}: expected an IP address, optionally with a port ("10.0.0.2:179", "[fd00::2]:179")`);
  }
}

/** Checks a BGPPeer: who peers (`node`/`nodeSelector`) with whom (`peerIP`+`asNumber` or `peerSelector`). */
export function checkBgpPeer(reader: FieldReader, doc: Record<string, unknown>): void {
  reader.knownFields(doc, TOP_LEVEL, '');
  const spec = doc['spec'] === undefined ? reader.fail('spec', 'required') : reader.object(doc['spec'], 'spec');
  if (spec === undefined) return;
  reader.knownFields(
    spec,
    ['node', 'peerIP', 'asNumber', 'nodeSelector', 'peerSelector', 'reversePeering', 'keepOriginalNextHop', 'sourceAddress', 'ttlSecurity', 'password', 'maxRestartTime', 'numAllowedLocalASNumbers', 'filters', 'reachableBy'],
    'spec',
  );
  const node = reader.optionalString(spec, 'node', 'spec');
  const nodeProblem = node === undefined ? undefined : dnsSubdomainProblem(node);
  if (nodeProblem !== undefined) reader.fail('spec.node', nodeProblem);
  peerIp(reader, spec);
  asNumber(reader, spec, 'spec');
  const nodeSelector = selector(reader, spec, 'nodeSelector', 'spec');
  const peerSelector = selector(reader, spec, 'peerSelector', 'spec');
  // Auto (Calico's default): a node a peerSelector picks peers back with the nodes the BGPPeer applies to.
  reader.optionalChoice(spec, 'reversePeering', 'spec', ['Auto', 'Manual']);
  reader.optionalBoolean(spec, 'keepOriginalNextHop', 'spec');
  reader.optionalChoice(spec, 'sourceAddress', 'spec', ['UseNodeIP', 'None']);
  reader.optionalInteger(spec, 'ttlSecurity', 'spec', 0, 255);
  reader.optionalInteger(spec, 'numAllowedLocalASNumbers', 'spec', 0, 10);
  password(reader, spec, 'password', 'spec');
  duration(reader, spec, 'maxRestartTime', 'spec');
  ipField(reader, spec, 'reachableBy', 'spec');
  reader.optionalList(spec, 'filters', 'spec', (item, path) => reader.string(item, path));
  if (node !== undefined && nodeSelector !== undefined) reader.fail('spec.nodeSelector', 'cannot be set together with spec.node: use one');
  if (peerSelector !== undefined) {
    if (spec['peerIP'] !== undefined) reader.fail('spec.peerIP', 'cannot be set together with spec.peerSelector: use one');
    if (spec['asNumber'] !== undefined) reader.fail('spec.asNumber', 'cannot be set together with spec.peerSelector (the peers\' own AS numbers are used)');
  } else if (spec['peerIP'] === undefined) {
    reader.fail('spec.peerIP', 'required unless spec.peerSelector is set');
  } else if (spec['asNumber'] === undefined) {
    reader.fail('spec.asNumber', 'required with spec.peerIP');
  }
}

const CIDR_LIST_ITEM = ['cidr'];

/** Checks a BGPConfiguration: AS number, mesh, listen port, advertised service CIDRs, communities. */
export function checkBgpConfiguration(reader: FieldReader, doc: Record<string, unknown>): void {
  reader.knownFields(doc, TOP_LEVEL, '');
  const spec = reader.optionalObject(doc, 'spec', '');
  if (spec === undefined) return;
  reader.knownFields(
    spec,
    [
      'logSeverityScreen', 'nodeToNodeMeshEnabled', 'asNumber', 'listenPort', 'serviceClusterIPs', 'serviceExternalIPs', 'serviceLoadBalancerIPs',
      'communities', 'prefixAdvertisements', 'bindMode', 'ignoredInterfaces', 'nodeMeshPassword', 'nodeMeshMaxRestartTime', 'localWorkloadPeeringIPV4', 'localWorkloadPeeringIPV6',
    ],
    'spec',
  );
  reader.optionalChoice(spec, 'logSeverityScreen', 'spec', ['Debug', 'Info', 'Warning', 'Error', 'Fatal']);
  reader.optionalBoolean(spec, 'nodeToNodeMeshEnabled', 'spec');
  asNumber(reader, spec, 'spec');
  reader.optionalInteger(spec, 'listenPort', 'spec', 1, 65535);
  reader.optionalChoice(spec, 'bindMode', 'spec', ['None', 'NodeIP']);
  password(reader, spec, 'nodeMeshPassword', 'spec');
  duration(reader, spec, 'nodeMeshMaxRestartTime', 'spec');
  ipField(reader, spec, 'localWorkloadPeeringIPV4', 'spec', 4);
  ipField(reader, spec, 'localWorkloadPeeringIPV6', 'spec', 6);
  reader.optionalList(spec, 'ignoredInterfaces', 'spec', (item, path) => reader.string(item, path));
  for (const key of ['serviceClusterIPs', 'serviceExternalIPs', 'serviceLoadBalancerIPs']) {
    reader.optionalList(spec, key, 'spec', (item, path) => {
      const entry = reader.object(item, path);
      if (entry === undefined) return;
      reader.knownFields(entry, CIDR_LIST_ITEM, path);
      if (entry['cidr'] === undefined) reader.fail(fieldPath(path, 'cidr'), 'required');
      else networkCidr(reader, entry['cidr'], fieldPath(path, 'cidr'));
    });
  }
  const community = /^(\d+:\d+|\d+:\d+:\d+)$/;
  reader.optionalList(spec, 'communities', 'spec', (item, path) => {
    const entry = reader.object(item, path);
    if (entry === undefined) return;
    reader.knownFields(entry, ['name', 'value'], path);
    reader.optionalString(entry, 'name', path);
    const value = reader.optionalString(entry, 'value', path);
    if (value !== undefined && !community.test(value)) reader.fail(fieldPath(path, 'value'), `invalid community ${JSON.stringify(value)}: expected "aa:nn" or "aa:nn:mm"`);
  });
  reader.optionalList(spec, 'prefixAdvertisements', 'spec', (item, path) => {
    const entry = reader.object(item, path);
    if (entry === undefined) return;
    reader.knownFields(entry, ['cidr', 'communities'], path);
    if (entry['cidr'] !== undefined) networkCidr(reader, entry['cidr'], fieldPath(path, 'cidr'));
    reader.optionalList(entry, 'communities', path, (name, namePath) => reader.string(name, namePath));
  });
}

const ENCAPSULATION = ['Never', 'Always', 'CrossSubnet'] as const;

/** Checks an IPPool: `spec.cidr` (a network), `blockSize` for its family, `nodeSelector`, modes. */
export function checkIpPool(reader: FieldReader, doc: Record<string, unknown>): void {
  reader.knownFields(doc, TOP_LEVEL, '');
  const spec = doc['spec'] === undefined ? reader.fail('spec', 'required') : reader.object(doc['spec'], 'spec');
  if (spec === undefined) return;
  reader.knownFields(spec, ['cidr', 'blockSize', 'nodeSelector', 'disabled', 'ipipMode', 'vxlanMode', 'natOutgoing', 'disableBGPExport', 'allowedUses', 'assignmentMode'], 'spec');
  const cidr = spec['cidr'] === undefined ? reader.fail('spec.cidr', 'required') : networkCidr(reader, spec['cidr'], 'spec.cidr');
  if (cidr !== undefined) {
    // Calico's ranges: IPv4 blocks of /20../32, IPv6 blocks of /116../128.
    const [min, max] = cidr.family === 4 ? [20, 32] : [116, 128];
    const blockSize = reader.optionalInteger(spec, 'blockSize', 'spec', min, max);
    if (blockSize !== undefined && blockSize < cidr.prefixLength) {
      reader.fail('spec.blockSize', `/${blockSize} blocks do not fit in ${cidr.network}: the block size must be at least the pool's prefix length ${cidr.prefixLength}`);
    }
  } else {
    reader.optionalInteger(spec, 'blockSize', 'spec', 20, 128);
  }
  selector(reader, spec, 'nodeSelector', 'spec');
  reader.optionalBoolean(spec, 'disabled', 'spec');
  reader.optionalBoolean(spec, 'natOutgoing', 'spec');
  reader.optionalBoolean(spec, 'disableBGPExport', 'spec');
  const ipip = reader.optionalChoice(spec, 'ipipMode', 'spec', ENCAPSULATION);
  const vxlan = reader.optionalChoice(spec, 'vxlanMode', 'spec', ENCAPSULATION);
  if (ipip !== undefined && ipip !== 'Never' && vxlan !== undefined && vxlan !== 'Never') {
    reader.fail('spec.vxlanMode', 'IPIP and VXLAN cannot both be enabled on one pool');
  }
  if (cidr?.family === 6 && ipip !== undefined && ipip !== 'Never') reader.fail('spec.ipipMode', 'IPIP is IPv4 only');
  reader.optionalChoice(spec, 'assignmentMode', 'spec', ['Automatic', 'Manual']);
  reader.optionalList(spec, 'allowedUses', 'spec', (item, path) => {
    if (item !== 'Workload' && item !== 'Tunnel' && item !== 'LoadBalancer') reader.fail(path, `must be "Workload", "Tunnel" or "LoadBalancer", not ${JSON.stringify(item)}`);
  });
}
