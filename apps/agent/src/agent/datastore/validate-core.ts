// The core v1 kinds the agent keeps: Namespace (a name and labels, for namespace
// selectors) and Pod (labels, node, service account, named ports and addresses, for
// policy). A Pod exported from a cluster carries many fields the agent has no use for:
// those are accepted as they are; the ones the agent reads are checked.
import { dnsLabelProblem, dnsSubdomainProblem, fieldPath, type FieldReader, parseIp, portNameProblem } from './fields.js';

const TOP_LEVEL = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

/** Checks a Namespace's body (`spec.finalizers`, `status.phase`). */
export function checkNamespace(reader: FieldReader, doc: Record<string, unknown>): void {
  reader.knownFields(doc, TOP_LEVEL, '');
  const spec = reader.optionalObject(doc, 'spec', '');
  if (spec !== undefined) {
    reader.knownFields(spec, ['finalizers'], 'spec');
    reader.optionalList(spec, 'finalizers', 'spec', (item, path) => reader.string(item, path));
  }
  const status = reader.optionalObject(doc, 'status', '');
  if (status !== undefined) {
    reader.knownFields(status, ['phase', 'conditions'], 'status');
    reader.optionalChoice(status, 'phase', 'status', ['Active', 'Terminating']);
  }
}

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

function checkContainerPort(reader: FieldReader, value: unknown, path: string, names: Map<string, string>): void {
  const port = reader.object(value, path);
  if (port === undefined) return;
  reader.knownFields(port, ['name', 'containerPort', 'protocol', 'hostPort', 'hostIP'], path);
  if (port['containerPort'] === undefined) reader.fail(fieldPath(path, 'containerPort'), 'required');
  reader.optionalInteger(port, 'containerPort', path, 1, 65535);
  reader.optionalInteger(port, 'hostPort', path, 1, 65535);
  reader.optionalChoice(port, 'protocol', path, PROTOCOLS);
  const hostIp = reader.optionalString(port, 'hostIP', path);
  if (hostIp !== undefined && parseIp(hostIp) === undefined) reader.fail(fieldPath(path, 'hostIP'), `invalid IP address ${JSON.stringify(hostIp)}`);
  const name = reader.optionalString(port, 'name', path);
  if (name === undefined) return;
  const problem = portNameProblem(name);
  if (problem !== undefined) {
    reader.fail(fieldPath(path, 'name'), problem);
    return;
  }
  // Named ports resolve to one number per pod (the API server refuses duplicates).
  const first = names.get(name);
  if (first !== undefined) reader.fail(fieldPath(path, 'name'), `duplicate port name ${JSON.stringify(name)} (first at ${first})`);
  else names.set(name, fieldPath(path, 'name'));
}

function checkContainers(reader: FieldReader, spec: Record<string, unknown>, key: string, names: Map<string, string>): void {
  reader.optionalList(spec, key, 'spec', (item, path) => {
    const container = reader.object(item, path);
    if (container === undefined) return;
    const name = container['name'] === undefined ? reader.fail(fieldPath(path, 'name'), 'required') : reader.string(container['name'], fieldPath(path, 'name'));
    const problem = name === undefined ? undefined : dnsLabelProblem(name);
    if (problem !== undefined) reader.fail(fieldPath(path, 'name'), problem);
    reader.optionalList(container, 'ports', path, (port, portPath) => checkContainerPort(reader, port, portPath, names));
  });
}

function checkPodIp(reader: FieldReader, value: unknown, path: string): void {
  const text = reader.string(value, path);
  if (text !== undefined && parseIp(text) === undefined) reader.fail(path, `invalid IP address ${JSON.stringify(text)}`);
}

/**
 * Checks a Pod's body: `spec.nodeName`, `spec.serviceAccountName`, `spec.hostNetwork`,
 * the containers' names and ports (named ports unique), `status.podIP` and `status.podIPs`.
 */
export function checkPod(reader: FieldReader, doc: Record<string, unknown>): void {
  reader.knownFields(doc, TOP_LEVEL, '');
  const spec = reader.optionalObject(doc, 'spec', '');
  if (spec !== undefined) {
    for (const key of ['nodeName', 'serviceAccountName']) {
      const value = reader.optionalString(spec, key, 'spec');
      const problem = value === undefined ? undefined : dnsSubdomainProblem(value);
      if (problem !== undefined) reader.fail(fieldPath('spec', key), problem);
    }
    reader.optionalBoolean(spec, 'hostNetwork', 'spec');
    const names = new Map<string, string>();
    checkContainers(reader, spec, 'containers', names);
    checkContainers(reader, spec, 'initContainers', names);
  }
  const status = reader.optionalObject(doc, 'status', '');
  if (status !== undefined) {
    if (status['podIP'] !== undefined) checkPodIp(reader, status['podIP'], 'status.podIP');
    reader.optionalList(status, 'podIPs', 'status', (item, path) => {
      const entry = reader.object(item, path);
      if (entry === undefined) return;
      reader.knownFields(entry, ['ip'], path);
      if (entry['ip'] === undefined) reader.fail(fieldPath(path, 'ip'), 'required');
      else checkPodIp(reader, entry['ip'], fieldPath(path, 'ip'));
    });
  }
}
