/**
 * Rules and entity rules of Calico policies (`api/pkg/apis/projectcalico/v3`
 * `policy_common.go`), with the checks of Calico's validator (`validateRule`,
 * `validateEntityRule`, `validateHTTPRule`).
 */
import { POLICY_ERROR_CODE } from '../errors.js';
import {
  asObject,
  checkKnownFields,
  child,
  describeValue,
  fail,
  item,
  optional,
  optList,
  optSelector,
  optString,
  optStringList,
  optStringMap,
  type Fields,
} from './internal/fields.js';
import { selectorUsesGlobal } from './selector/ast.js';
import {
  CALICO_ACTIONS,
  type CalicoAction,
  type CalicoEntityRule,
  type CalicoHttpMatch,
  type CalicoHttpPath,
  type CalicoNet,
  type CalicoPolicyType,
  type CalicoRule,
  type CalicoServiceAccountMatch,
  type CalicoServiceMatch,
} from './types.js';
import { protocolHasPorts, protocolIsIcmp, readIcmp, readNet, readPort, readProtocol } from './values.js';

const RULE_FIELDS = ['action', 'ipVersion', 'protocol', 'notProtocol', 'icmp', 'notICMP', 'source', 'destination', 'http', 'metadata'];
const ENTITY_FIELDS = ['nets', 'notNets', 'selector', 'notSelector', 'namespaceSelector', 'ports', 'notPorts', 'serviceAccounts', 'services'];

/** Where a rule sits, which changes what it may hold. */
export interface RuleContext {
  /** `Ingress` for `spec.ingress`, `Egress` for `spec.egress`. */
  readonly direction: CalicoPolicyType;
  /** True in a GlobalNetworkPolicy (services then need a namespace). */
  readonly global: boolean;
}

function readServiceAccounts(value: unknown, path: string): CalicoServiceAccountMatch {
  const fields = asObject(value, path);
  checkKnownFields(fields, path, ['names', 'selector']);
  const selector = optSelector(fields, 'selector', path);
  return { names: optStringList(fields, 'names', path), ...(selector ? { selector } : {}) };
}

function readServices(value: unknown, path: string): CalicoServiceMatch {
  const fields = asObject(value, path);
  checkKnownFields(fields, path, ['name', 'namespace']);
  const name = optString(fields, 'name', path) ?? '';
  if (name === '') fail(child(path, 'name'), 'services must specify a service name');
  const namespace = optString(fields, 'namespace', path);
  return { name, ...(namespace ? { namespace } : {}) };
}

/** Reads a rule's `source` or `destination`. */
export function readEntityRule(value: unknown, path: string): CalicoEntityRule {
  if (value === undefined || value === null) return { nets: [], notNets: [], ports: [], notPorts: [] };
  const fields = asObject(value, path);
  checkKnownFields(fields, path, ENTITY_FIELDS);
  const nets = (key: string): CalicoNet[] =>
    optList(fields, key, path, 256).map((n, i) => readNet(n, item(child(path, key), i), true));
  const ports = (key: string) => optList(fields, key, path, 50).map((p, i) => readPort(p, item(child(path, key), i)));
  const selector = optSelector(fields, 'selector', path);
  if (selector && selectorUsesGlobal(selector.ast)) {
    fail(child(path, 'selector'), 'global() can only be used in an EntityRule namespaceSelector');
  }
  const notSelector = optSelector(fields, 'notSelector', path);
  if (notSelector && selectorUsesGlobal(notSelector.ast)) {
    fail(child(path, 'notSelector'), 'global() can only be used in an EntityRule namespaceSelector');
  }
  const namespaceSelector = optSelector(fields, 'namespaceSelector', path);
  if (namespaceSelector && selectorUsesGlobal(namespaceSelector.ast) && namespaceSelector.ast.kind !== 'global') {
    fail(child(path, 'namespaceSelector'), 'global() cannot be combined with other selectors');
  }
  const serviceAccountsValue = optional(fields, 'serviceAccounts');
  const servicesValue = optional(fields, 'services');
  const rule: CalicoEntityRule = {
    nets: nets('nets'),
    notNets: nets('notNets'),
    ...(selector ? { selector } : {}),
    ...(notSelector ? { notSelector } : {}),
    ...(namespaceSelector ? { namespaceSelector } : {}),
    ports: ports('ports'),
    notPorts: ports('notPorts'),
    ...(serviceAccountsValue === undefined
      ? {}
      : { serviceAccounts: readServiceAccounts(serviceAccountsValue, child(path, 'serviceAccounts')) }),
    ...(servicesValue === undefined ? {} : { services: readServices(servicesValue, child(path, 'services')) }),
  };
  if (rule.services) {
    const servicesPath = child(path, 'services');
    if (rule.namespaceSelector) fail(servicesPath, 'cannot specify NamespaceSelector and Services on the same rule');
    if (rule.selector || rule.notSelector) fail(servicesPath, 'cannot specify Selector/NotSelector and Services on the same rule');
    if (rule.serviceAccounts) fail(servicesPath, 'cannot specify ServiceAccounts and Services on the same rule');
    if (rule.nets.length > 0 || rule.notNets.length > 0) fail(servicesPath, 'cannot specify Nets/NotNets and Services on the same rule');
  }
  return rule;
}

function readHttp(value: unknown, path: string): CalicoHttpMatch {
  const fields = asObject(value, path);
  checkKnownFields(fields, path, ['methods', 'paths']);
  const methodsPath = child(path, 'methods');
  const methods = optList(fields, 'methods', path, 20).map((m, i) => {
    if (typeof m !== 'string' || m === '') fail(item(methodsPath, i), `expected an HTTP method, found ${describeValue(m)}`);
    return m;
  });
  methods.forEach((m, i) => {
    if (methods.indexOf(m) !== i) fail(item(methodsPath, i), `duplicate HTTP method ${JSON.stringify(m)}`);
  });
  const pathsPath = child(path, 'paths');
  const paths = optList(fields, 'paths', path, 20).map((p, i): CalicoHttpPath => {
    const at = item(pathsPath, i);
    const f = asObject(p, at);
    checkKnownFields(f, at, ['exact', 'prefix']);
    const exact = optString(f, 'exact', at) ?? '';
    const prefix = optString(f, 'prefix', at) ?? '';
    if (exact !== '' && prefix !== '') fail(at, "invalid path match: both 'exact' and 'prefix' are set");
    if (exact === '' && prefix === '') fail(at, "invalid path match: either 'exact' or 'prefix' must be set");
    const text = exact || prefix;
    // RFC 3986 §3.3: a path starts with '/' and holds no query or fragment.
    if (!text.startsWith('/') || /[? #]/.test(text)) {
      fail(child(at, exact ? 'exact' : 'prefix'), `invalid path ${JSON.stringify(text)}: must start with '/' and not contain '?', '#' or spaces`);
    }
    return { kind: exact ? 'exact' : 'prefix', path: text };
  });
  return { methods, paths };
}

function checkNetFamilies(rule: CalicoRule, path: string): void {
  let seen: 4 | 6 | undefined;
  for (const side of ['source', 'destination'] as const) {
    for (const key of ['nets', 'notNets'] as const) {
      rule[side][key].forEach((net, i) => {
        const at = item(child(child(path, side), key), i);
        if (rule.ipVersion !== undefined && net.version !== rule.ipVersion) {
          fail(at, `IPv${net.version} CIDR ${JSON.stringify(net.text)} in a rule with ipVersion ${rule.ipVersion}`);
        }
        if (seen !== undefined && net.version !== seen) fail(at, 'rule contains both IPv4 and IPv6 CIDRs');
        seen = net.version;
      });
    }
  }
}

function readAction(fields: Fields, path: string): CalicoAction {
  const at = child(path, 'action');
  const value = optional(fields, 'action');
  if (value === undefined || value === '') fail(at, 'required', POLICY_ERROR_CODE.REQUIRED);
  if (!CALICO_ACTIONS.includes(value as CalicoAction)) {
    fail(at, `invalid action ${describeValue(value)}: expected Allow, Deny, Pass or Log`);
  }
  return value as CalicoAction;
}

/** Reads one rule of `spec.ingress` / `spec.egress`. */
export function readRule(value: unknown, path: string, context: RuleContext): CalicoRule {
  const fields = asObject(value, path);
  checkKnownFields(fields, path, RULE_FIELDS);
  const action = readAction(fields, path);
  const ipVersionValue = optional(fields, 'ipVersion');
  if (ipVersionValue !== undefined && ipVersionValue !== 4 && ipVersionValue !== 6) {
    fail(child(path, 'ipVersion'), `invalid ipVersion ${describeValue(ipVersionValue)}: expected 4 or 6`);
  }
  const ipVersion = ipVersionValue as 4 | 6 | undefined;
  const protocolValue = optional(fields, 'protocol');
  const protocol = protocolValue === undefined ? undefined : readProtocol(protocolValue, child(path, 'protocol'));
  const notProtocolValue = optional(fields, 'notProtocol');
  const notProtocol = notProtocolValue === undefined ? undefined : readProtocol(notProtocolValue, child(path, 'notProtocol'));
  const icmpValue = optional(fields, 'icmp');
  const icmp = icmpValue === undefined ? undefined : readIcmp(icmpValue, child(path, 'icmp'));
  const notIcmpValue = optional(fields, 'notICMP');
  const notIcmp = notIcmpValue === undefined ? undefined : readIcmp(notIcmpValue, child(path, 'notICMP'));
  const source = readEntityRule(optional(fields, 'source'), child(path, 'source'));
  const destination = readEntityRule(optional(fields, 'destination'), child(path, 'destination'));
  const httpValue = optional(fields, 'http');
  const http = httpValue === undefined ? undefined : readHttp(httpValue, child(path, 'http'));
  const metadataValue = optional(fields, 'metadata');
  let annotations: Readonly<Record<string, string>> = {};
  if (metadataValue !== undefined) {
    const metadata = asObject(metadataValue, child(path, 'metadata'));
    checkKnownFields(metadata, child(path, 'metadata'), ['annotations']);
    annotations = optStringMap(metadata, 'annotations', child(path, 'metadata'));
  }
  const rule: CalicoRule = {
    action,
    ...(ipVersion === undefined ? {} : { ipVersion }),
    ...(protocol ? { protocol } : {}),
    ...(notProtocol ? { notProtocol } : {}),
    ...(icmp ? { icmp } : {}),
    ...(notIcmp ? { notIcmp } : {}),
    source,
    destination,
    ...(http ? { http } : {}),
    annotations,
  };

  // validateRule: ports only with a protocol that has them.
  if (!protocolHasPorts(protocol)) {
    for (const side of ['source', 'destination'] as const) {
      for (const key of ['ports', 'notPorts'] as const) {
        if (rule[side][key].length > 0) {
          fail(child(child(path, side), key), 'rules that specify ports must set protocol to TCP, UDP or SCTP');
        }
      }
    }
  }
  if (icmp && !protocolIsIcmp(protocol)) fail(child(path, 'icmp'), 'rules that specify ICMP fields must set protocol to ICMP or ICMPv6');
  for (const [key, p] of [['protocol', protocol], ['notProtocol', notProtocol]] as const) {
    if (p?.number === 1 && ipVersion === 6) fail(child(path, key), 'protocol ICMP requires ipVersion 4');
    if (p?.number === 58 && ipVersion === 4) fail(child(path, key), 'protocol ICMPv6 requires ipVersion 6');
  }
  checkNetFamilies(rule, path);
  if (http) {
    const at = child(path, 'http');
    if (action !== 'Allow') fail(at, 'HTTP match is only valid on Allow rules');
    if (protocol && protocol.number !== 6) fail(at, 'rules with HTTP match must have protocol TCP or unset');
    if (context.direction === 'Egress') fail(at, 'HTTP match is not allowed in egress rules');
  }
  // Services: a destination for egress, a source for ingress; ports come from the service.
  if (context.direction === 'Egress' && source.services) fail(child(path, 'source.services'), 'not allowed in egress rule source');
  if (context.direction === 'Ingress' && destination.services) {
    fail(child(path, 'destination.services'), 'not allowed in ingress rule destination');
  }
  if (destination.services && (destination.ports.length > 0 || destination.notPorts.length > 0)) {
    fail(child(path, destination.ports.length > 0 ? 'destination.ports' : 'destination.notPorts'), 'cannot specify ports with a service selector');
  }
  if (context.global) {
    const side = context.direction === 'Egress' ? destination : source;
    if (side.services && side.services.namespace === undefined) {
      fail(child(path, `${context.direction === 'Egress' ? 'destination' : 'source'}.services.namespace`), 'must specify a namespace');
    }
  }
  return rule;
}
