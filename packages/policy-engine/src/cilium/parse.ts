// cilium.io/v2 CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy: strict decoding
// (unknown fields are errors, as with `kubectl --validate=strict` against Cilium's CRD
// schema) and Cilium's own checks (`Rule.Sanitize`), collecting every error.

import { POLICY_ERROR_CODE, PolicyValidationError, type FieldError } from '../errors.js';
import { DocumentReader, describe, join } from '../internal/document.js';
import { cidrContainsCidr, parseCidr, parseIpAddress, type Cidr } from '../model/cidr.js';
import { dns1123LabelProblem, dns1123SubdomainProblem } from '../kubernetes/names.js';
import { readIcmps, readPortRule, type PortContext } from './parse-ports.js';
import { readCiliumSelector } from './selector.js';
import {
  CILIUM_API_VERSION,
  CILIUM_ENTITIES,
  CILIUM_KINDS,
  type CiliumCidrRule,
  type CiliumEntity,
  type CiliumKind,
  type CiliumPolicy,
  type CiliumPolicyRule,
  type CiliumRule,
} from './types.js';

/** Options for {@link parseCiliumPolicy}. */
export interface ParseCiliumPolicyOptions {
  /** The namespace for a CiliumNetworkPolicy without `metadata.namespace`; `default` when absent. */
  readonly namespace?: string;
}

const METADATA_FIELDS = [
  'name', 'namespace', 'labels', 'annotations', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'finalizers', 'ownerReferences', 'managedFields', 'generateName', 'selfLink',
];
const RULE_FIELDS = ['endpointSelector', 'nodeSelector', 'ingress', 'ingressDeny', 'egress', 'egressDeny', 'labels', 'description', 'enableDefaultDeny', 'log'];
// Fields of Cilium's rules that Twill knows but cannot express in its IR yet.
const UNSUPPORTED_PEERS = { ingress: ['fromRequires', 'fromGroups'], egress: ['toRequires', 'toGroups', 'toServices', 'toFQDNs'] } as const;

type Direction = 'ingress' | 'egress';

/** Parses a CIDR field: a prefix (host bits are cleared, as Cilium does) or a bare address (a host prefix). */
function readCidr(reader: DocumentReader, value: unknown, path: string): Cidr | undefined {
  const text = reader.string(value, path);
  if (text === undefined) return undefined;
  const address = text.includes('/') ? undefined : parseIpAddress(text);
  const cidr = address === undefined ? parseCidr(text) : parseCidr(`${address.text}/${address.bytes.length * 8}`);
  return cidr ?? reader.fail(POLICY_ERROR_CODE.INVALID_CIDR, path, `invalid CIDR ${JSON.stringify(text)}`);
}

function readCidrSet(reader: DocumentReader, value: unknown, path: string): CiliumCidrRule | undefined {
  const object = reader.object(value, path);
  if (object === undefined) return undefined;
  reader.knownFields(object, ['cidr', 'except', 'cidrGroupRef', 'cidrGroupSelector'], path);
  const before = reader.errors.length;
  for (const key of ['cidrGroupRef', 'cidrGroupSelector']) {
    if (reader.field(object, key) !== undefined) reader.fail(POLICY_ERROR_CODE.UNSUPPORTED, join(path, key), 'CiliumCIDRGroups are not supported yet');
  }
  const cidrValue = reader.field(object, 'cidr');
  if (cidrValue === undefined && reader.errors.length === before) reader.fail(POLICY_ERROR_CODE.REQUIRED, join(path, 'cidr'), 'required');
  const cidr = cidrValue === undefined ? undefined : readCidr(reader, cidrValue, join(path, 'cidr'));
  const except: string[] = [];
  const exceptValue = reader.field(object, 'except');
  if (exceptValue !== undefined) {
    reader.array(exceptValue, join(path, 'except'))?.forEach((entry, index) => {
      const entryPath = `${join(path, 'except')}[${index}]`;
      const inner = readCidr(reader, entry, entryPath);
      if (inner === undefined) return;
      if (cidr !== undefined && !cidrContainsCidr(cidr, inner)) {
        reader.fail(POLICY_ERROR_CODE.INVALID_CIDR, entryPath, `${JSON.stringify(inner.text)} is not contained in cidr ${JSON.stringify(cidr.text)}`);
      }
      except.push(inner.text);
    });
  }
  if (reader.errors.length > before || cidr === undefined) return undefined;
  return { cidr: cidr.text, except };
}

function readRule(reader: DocumentReader, value: unknown, path: string, direction: Direction, context: PortContext): CiliumRule | undefined {
  const object = reader.object(value, path);
  if (object === undefined) return undefined;
  const p = direction === 'ingress' ? 'from' : 'to';
  const unsupported = UNSUPPORTED_PEERS[direction].filter((key) => !(context.deny && key === 'toFQDNs'));
  reader.knownFields(object, [`${p}Endpoints`, `${p}Nodes`, `${p}CIDR`, `${p}CIDRSet`, `${p}Entities`, 'toPorts', 'icmps', 'authentication', ...unsupported], path);
  const before = reader.errors.length;
  for (const key of unsupported) {
    if (reader.field(object, key) !== undefined) reader.fail(POLICY_ERROR_CODE.UNSUPPORTED, join(path, key), 'not supported yet');
  }
  const authentication = reader.field(object, 'authentication');
  if (authentication !== undefined) reader.fail(POLICY_ERROR_CODE.UNSUPPORTED, join(path, 'authentication'), 'mutual authentication is not supported yet');
  const field = (key: string): unknown => reader.field(object, `${p}${key}`);
  const at = (key: string): string => join(path, `${p}${key}`);
  const endpoints = reader.list(field('Endpoints'), at('Endpoints'), (entry, entryPath) => readCiliumSelector(reader, entry, entryPath));
  const nodes = reader.list(field('Nodes'), at('Nodes'), (entry, entryPath) => readCiliumSelector(reader, entry, entryPath));
  const cidr = reader.list(field('CIDR'), at('CIDR'), (entry, entryPath) => readCidr(reader, entry, entryPath)?.text);
  const cidrSet = reader.list(field('CIDRSet'), at('CIDRSet'), (entry, entryPath) => readCidrSet(reader, entry, entryPath));
  const entities = reader.list(field('Entities'), at('Entities'), (entry, entryPath): CiliumEntity | undefined => {
    const text = reader.string(entry, entryPath);
    if (text === undefined) return undefined;
    if ((CILIUM_ENTITIES as readonly string[]).includes(text)) return text as CiliumEntity;
    if (text === 'ingress') return reader.fail(POLICY_ERROR_CODE.UNSUPPORTED, entryPath, 'the ingress entity is not supported yet');
    return reader.fail(POLICY_ERROR_CODE.INVALID_VALUE, entryPath, `unknown entity ${JSON.stringify(text)}: must be one of ${CILIUM_ENTITIES.join(', ')}`);
  });
  const toPorts = reader.list(reader.field(object, 'toPorts'), join(path, 'toPorts'), (entry, entryPath) => readPortRule(reader, entry, entryPath, context)) ?? [];
  const icmpsValue = reader.field(object, 'icmps');
  const icmps = icmpsValue === undefined ? [] : readIcmps(reader, icmpsValue, join(path, 'icmps'));
  if (icmpsValue !== undefined && reader.field(object, 'toPorts') !== undefined) {
    reader.fail(POLICY_ERROR_CODE.FORBIDDEN, join(path, 'icmps'), 'may only be present without toPorts: define a separate rule to use toPorts');
  }
  if (reader.errors.length > before) return undefined;
  return {
    ...(endpoints === undefined ? {} : { endpoints }),
    ...(nodes === undefined ? {} : { nodes }),
    ...(cidr === undefined ? {} : { cidr }),
    ...(cidrSet === undefined ? {} : { cidrSet }),
    ...(entities === undefined ? {} : { entities }),
    toPorts,
    icmps,
  };
}

function readBoolean(reader: DocumentReader, object: Record<string, unknown>, key: string, path: string): boolean | undefined {
  const value = reader.field(object, key);
  if (value === undefined || typeof value === 'boolean') return value;
  return reader.fail(POLICY_ERROR_CODE.INVALID_TYPE, join(path, key), `must be true or false, not ${describe(value)}`);
}

function readPolicyRule(reader: DocumentReader, value: unknown, path: string, kind: CiliumKind): CiliumPolicyRule | undefined {
  const object = reader.object(value, path);
  if (object === undefined) return undefined;
  reader.knownFields(object, RULE_FIELDS, path);
  const before = reader.errors.length;
  const endpointValue = reader.field(object, 'endpointSelector');
  const nodeValue = reader.field(object, 'nodeSelector');
  if (endpointValue === undefined && nodeValue === undefined) {
    reader.fail(POLICY_ERROR_CODE.REQUIRED, path, 'must have one of endpointSelector or nodeSelector');
  } else if (endpointValue !== undefined && nodeValue !== undefined) {
    reader.fail(POLICY_ERROR_CODE.FORBIDDEN, join(path, 'nodeSelector'), 'may not be combined with endpointSelector');
  } else if (nodeValue !== undefined && kind === 'CiliumNetworkPolicy') {
    reader.fail(POLICY_ERROR_CODE.FORBIDDEN, join(path, 'nodeSelector'), 'only a CiliumClusterwideNetworkPolicy may select nodes');
  }
  const endpointSelector = endpointValue === undefined ? undefined : readCiliumSelector(reader, endpointValue, join(path, 'endpointSelector'));
  const nodeSelector = nodeValue === undefined ? undefined : readCiliumSelector(reader, nodeValue, join(path, 'nodeSelector'));
  const host = nodeValue !== undefined;
  const rules = (key: 'ingress' | 'ingressDeny' | 'egress' | 'egressDeny'): CiliumRule[] | undefined => {
    const direction: Direction = key.startsWith('ingress') ? 'ingress' : 'egress';
    const context: PortContext = { direction, deny: key.endsWith('Deny'), host };
    return reader.list(reader.field(object, key), join(path, key), (entry, entryPath) => readRule(reader, entry, entryPath, direction, context));
  };
  const ingress = rules('ingress');
  const ingressDeny = rules('ingressDeny');
  const egress = rules('egress');
  const egressDeny = rules('egressDeny');
  const defaultDenyValue = reader.field(object, 'enableDefaultDeny');
  const enableDefaultDeny: { ingress?: boolean; egress?: boolean } = {};
  if (defaultDenyValue !== undefined) {
    const defaultDenyPath = join(path, 'enableDefaultDeny');
    const flags = reader.object(defaultDenyValue, defaultDenyPath);
    if (flags !== undefined) {
      reader.knownFields(flags, ['ingress', 'egress'], defaultDenyPath);
      const ingressFlag = readBoolean(reader, flags, 'ingress', defaultDenyPath);
      const egressFlag = readBoolean(reader, flags, 'egress', defaultDenyPath);
      if (ingressFlag !== undefined) enableDefaultDeny.ingress = ingressFlag;
      if (egressFlag !== undefined) enableDefaultDeny.egress = egressFlag;
    }
  }
  const descriptionValue = reader.field(object, 'description');
  const description = descriptionValue === undefined ? undefined : reader.string(descriptionValue, join(path, 'description'));
  const labelsValue = reader.field(object, 'labels');
  if (labelsValue !== undefined) reader.array(labelsValue, join(path, 'labels'));
  if (reader.errors.length > before) return undefined;
  return {
    ...(endpointSelector === undefined ? {} : { endpointSelector }),
    ...(nodeSelector === undefined ? {} : { nodeSelector }),
    ...(ingress === undefined ? {} : { ingress }),
    ...(ingressDeny === undefined ? {} : { ingressDeny }),
    ...(egress === undefined ? {} : { egress }),
    ...(egressDeny === undefined ? {} : { egressDeny }),
    enableDefaultDeny,
    ...(description === undefined ? {} : { description }),
  };
}

function readMetadata(reader: DocumentReader, value: unknown, kind: CiliumKind | undefined, options: ParseCiliumPolicyOptions): CiliumPolicy['metadata'] | undefined {
  const object = reader.object(value, 'metadata');
  if (object === undefined) return undefined;
  reader.knownFields(object, METADATA_FIELDS, 'metadata');
  const nameValue = reader.field(object, 'name');
  const name = nameValue === undefined ? reader.fail(POLICY_ERROR_CODE.REQUIRED, 'metadata.name', 'required') : reader.string(nameValue, 'metadata.name');
  const nameProblem = name === undefined ? undefined : dns1123SubdomainProblem(name);
  if (nameProblem !== undefined) reader.fail(POLICY_ERROR_CODE.INVALID_VALUE, 'metadata.name', `invalid name ${JSON.stringify(name)}: ${nameProblem}`);
  const namespaceValue = reader.field(object, 'namespace');
  let namespace: string | undefined;
  if (kind === 'CiliumClusterwideNetworkPolicy') {
    if (namespaceValue !== undefined && namespaceValue !== '') reader.fail(POLICY_ERROR_CODE.FORBIDDEN, 'metadata.namespace', 'CiliumClusterwideNetworkPolicy is not namespaced');
  } else {
    namespace = namespaceValue === undefined ? (options.namespace ?? 'default') : reader.string(namespaceValue, 'metadata.namespace');
    const problem = namespace === undefined ? undefined : dns1123LabelProblem(namespace);
    if (problem !== undefined) reader.fail(POLICY_ERROR_CODE.INVALID_VALUE, 'metadata.namespace', `invalid namespace ${JSON.stringify(namespace)}: ${problem}`);
  }
  const labelsValue = reader.field(object, 'labels');
  const labels = labelsValue === undefined ? undefined : reader.stringMap(labelsValue, 'metadata.labels');
  const annotationsValue = reader.field(object, 'annotations');
  const annotations = annotationsValue === undefined ? undefined : reader.stringMap(annotationsValue, 'metadata.annotations');
  if (name === undefined) return undefined;
  return {
    name,
    ...(namespace === undefined ? {} : { namespace }),
    ...(labels === undefined ? {} : { labels }),
    ...(annotations === undefined ? {} : { annotations }),
  };
}

function read(document: unknown, options: ParseCiliumPolicyOptions): { policy?: CiliumPolicy; errors: FieldError[] } {
  const reader = new DocumentReader();
  const root = reader.object(document, '');
  if (root === undefined) return { errors: reader.errors };
  reader.knownFields(root, ['apiVersion', 'kind', 'metadata', 'spec', 'specs', 'status'], '');
  const apiVersion = reader.field(root, 'apiVersion');
  if (apiVersion !== CILIUM_API_VERSION) reader.fail(POLICY_ERROR_CODE.INVALID_VALUE, 'apiVersion', `must be "${CILIUM_API_VERSION}", not ${describe(apiVersion)}`);
  const kindValue = reader.field(root, 'kind');
  const kind = (CILIUM_KINDS as readonly unknown[]).includes(kindValue) ? (kindValue as CiliumKind) : undefined;
  if (kind === undefined) reader.fail(POLICY_ERROR_CODE.INVALID_VALUE, 'kind', `must be ${CILIUM_KINDS.map((k) => `"${k}"`).join(' or ')}, not ${describe(kindValue)}`);
  const metadataValue = reader.field(root, 'metadata');
  const metadata = metadataValue === undefined ? reader.fail(POLICY_ERROR_CODE.REQUIRED, 'metadata', 'required') : readMetadata(reader, metadataValue, kind, options);
  const specValue = reader.field(root, 'spec');
  const specsValue = reader.field(root, 'specs');
  if (specValue === undefined && specsValue === undefined) reader.fail(POLICY_ERROR_CODE.REQUIRED, 'spec', 'required: a policy needs spec or specs');
  const rules: { path: string; rule: CiliumPolicyRule }[] = [];
  const ruleKind = kind ?? 'CiliumNetworkPolicy';
  if (specValue !== undefined) {
    const rule = readPolicyRule(reader, specValue, 'spec', ruleKind);
    if (rule !== undefined) rules.push({ path: 'spec', rule });
  }
  if (specsValue !== undefined) {
    reader.array(specsValue, 'specs')?.forEach((entry, index) => {
      const rule = readPolicyRule(reader, entry, `specs[${index}]`, ruleKind);
      if (rule !== undefined) rules.push({ path: `specs[${index}]`, rule });
    });
  }
  if (reader.errors.length > 0 || metadata === undefined || kind === undefined) return { errors: reader.errors };
  return { policy: { apiVersion: CILIUM_API_VERSION, kind, metadata, rules }, errors: [] };
}

/**
 * Validates a CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy document (parsed
 * JSON or YAML) and returns every field error, in document order; empty when valid.
 */
export function validateCiliumPolicy(document: unknown, options: ParseCiliumPolicyOptions = {}): readonly FieldError[] {
  return read(document, options).errors;
}

/**
 * Parses and validates a `cilium.io/v2` CiliumNetworkPolicy or
 * CiliumClusterwideNetworkPolicy with strict decoding and Cilium's rule checks.
 * @throws {PolicyValidationError} listing every field error, each with its path; fields
 *   Twill knows but cannot enforce yet (`toFQDNs`, `toServices`, ...) are errors with
 *   code `unsupported`.
 */
export function parseCiliumPolicy(document: unknown, options: ParseCiliumPolicyOptions = {}): CiliumPolicy {
  const { policy, errors } = read(document, options);
  if (policy === undefined || errors.length > 0) throw new PolicyValidationError(errors);
  return policy;
}
