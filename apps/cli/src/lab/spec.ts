// A lab's spec from what a person typed, validated, with the defaults filled in. Pure:
// every problem is a LabError naming the option or the field.

import { posix } from 'node:path';

import { LAB_ERROR_CODE, LabError } from './errors.js';
import { LAB_DATAPLANES, LAB_TORS, type LabDataplane, type LabNamespaceSpec, type LabPodSpec, type LabSpec, type LabTorKind } from './ports.js';

/** The bounds of a lab's size. */
export const LAB_LIMITS = {
  maxNodes: 16,
  maxPodsPerNode: 32,
} as const;

/** What `twill lab up` uses when an option is not given. */
export const LAB_DEFAULTS = {
  nodes: 3,
  podsPerNode: 3,
  dataplane: 'nftables',
  /** The namespace of the pods of the `podsPerNode` layout. */
  namespace: 'default',
} as const satisfies { dataplane: LabDataplane } & Record<string, unknown>;

/** BIRD's daemon: `--tor bird` is the default when it is installed. */
export const BIRD_PATH = '/usr/sbin/bird';

/** The options of `twill lab up` as typed (strings), before validation. */
export interface LabUpOptions {
  readonly nodes?: string;
  readonly podsPerNode?: string;
  readonly dataplane?: string;
  readonly tor?: string;
  readonly dir?: string;
}

/** What the spec's defaults depend on on this machine. */
export interface LabHostFacts {
  /** Whether {@link BIRD_PATH} exists. */
  readonly birdInstalled: boolean;
  /** The folder used without `--dir` (see `defaultLabDir`). */
  readonly defaultDir: string;
  /** Relative `--dir` values are resolved against it. */
  readonly cwd: string;
}

// DNS-1123 label, as Kubernetes names pods and namespaces.
const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function integer(flag: string, text: string, min: number, max: number): number {
  const trimmed = text.trim();
  const value = /^[0-9]+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new LabError(LAB_ERROR_CODE.INVALID_SPEC, `${flag}: must be an integer ${min}-${max} (got ${JSON.stringify(text)})`);
  }
  return value;
}

function choice<T extends string>(flag: string, text: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) throw new LabError(LAB_ERROR_CODE.INVALID_SPEC, `${flag}: must be one of ${choices.join(', ')} (got ${JSON.stringify(text)})`);
  return text as T;
}

/**
 * The spec of `twill lab up` from its options: `--nodes` 1-16 (3), `--pods-per-node`
 * 0-32 (3), `--dataplane` (nftables), `--tor` (bird when installed, else none), `--dir`
 * (the host's default folder), each checked.
 * @throws LabError `INVALID_SPEC` naming the option.
 */
export function labSpecFromOptions(options: LabUpOptions, host: LabHostFacts): LabSpec {
  const tor: LabTorKind = options.tor === undefined ? (host.birdInstalled ? 'bird' : 'none') : choice('--tor', options.tor, LAB_TORS);
  if (tor === 'bird' && !host.birdInstalled) {
    throw new LabError(LAB_ERROR_CODE.MISSING_PREREQUISITE, `--tor: bird needs BIRD 2 at ${BIRD_PATH} (apt-get install bird2), or --tor none for a full mesh`);
  }
  if (options.dir !== undefined && options.dir.trim() === '') throw new LabError(LAB_ERROR_CODE.INVALID_SPEC, '--dir: must be a folder path (got "")');
  return validateLabSpec({
    nodes: options.nodes === undefined ? LAB_DEFAULTS.nodes : integer('--nodes', options.nodes, 1, LAB_LIMITS.maxNodes),
    podsPerNode: options.podsPerNode === undefined ? LAB_DEFAULTS.podsPerNode : integer('--pods-per-node', options.podsPerNode, 0, LAB_LIMITS.maxPodsPerNode),
    dataplane: options.dataplane === undefined ? LAB_DEFAULTS.dataplane : choice('--dataplane', options.dataplane, LAB_DATAPLANES),
    tor,
    dir: options.dir === undefined ? host.defaultDir : posix.resolve(host.cwd, options.dir),
  });
}

const invalid = (where: string, what: string): never => {
  throw new LabError(LAB_ERROR_CODE.INVALID_SPEC, `${where}: ${what}`);
};

/**
 * Checks a spec given as an object (the demonstration's): sizes in bounds, an absolute
 * folder, pods with DNS-1123 names unique per namespace on existing nodes, labels as
 * strings. Returns it unchanged.
 * @throws LabError `INVALID_SPEC` naming the field (`pods[2].node: ...`).
 */
export function validateLabSpec(spec: LabSpec): LabSpec {
  if (!Number.isSafeInteger(spec.nodes) || spec.nodes < 1 || spec.nodes > LAB_LIMITS.maxNodes) invalid('nodes', `must be an integer 1-${LAB_LIMITS.maxNodes} (got ${spec.nodes})`);
  if (!Number.isSafeInteger(spec.podsPerNode) || spec.podsPerNode < 0 || spec.podsPerNode > LAB_LIMITS.maxPodsPerNode) {
    invalid('podsPerNode', `must be an integer 0-${LAB_LIMITS.maxPodsPerNode} (got ${spec.podsPerNode})`);
  }
  if (!(LAB_DATAPLANES as readonly string[]).includes(spec.dataplane)) invalid('dataplane', `must be one of ${LAB_DATAPLANES.join(', ')} (got ${JSON.stringify(spec.dataplane)})`);
  if (!(LAB_TORS as readonly string[]).includes(spec.tor)) invalid('tor', `must be one of ${LAB_TORS.join(', ')} (got ${JSON.stringify(spec.tor)})`);
  if (!posix.isAbsolute(spec.dir) || spec.dir === '/') invalid('dir', `must be an absolute folder other than / (got ${JSON.stringify(spec.dir)})`);
  const labels = (where: string, value: Readonly<Record<string, string>>): void => {
    for (const [key, text] of Object.entries(value)) if (typeof text !== 'string') invalid(`${where}.${key}`, `must be a string (got ${JSON.stringify(text)})`);
  };
  const seen = new Set<string>();
  (spec.pods ?? []).forEach((pod, i) => {
    const where = `pods[${i}]`;
    if (!LABEL.test(pod.name)) invalid(`${where}.name`, `must be a DNS-1123 label (got ${JSON.stringify(pod.name)})`);
    if (!LABEL.test(pod.namespace)) invalid(`${where}.namespace`, `must be a DNS-1123 label (got ${JSON.stringify(pod.namespace)})`);
    if (!Number.isSafeInteger(pod.node) || pod.node < 0 || pod.node >= spec.nodes) invalid(`${where}.node`, `must be a node index 0-${spec.nodes - 1} (got ${pod.node})`);
    labels(`${where}.labels`, pod.labels);
    const key = `${pod.namespace}/${pod.name}`;
    if (seen.has(key)) invalid(`${where}.name`, `${key} is already a pod of the lab`);
    seen.add(key);
  });
  (spec.namespaces ?? []).forEach((ns, i) => {
    if (!LABEL.test(ns.name)) invalid(`namespaces[${i}].name`, `must be a DNS-1123 label (got ${JSON.stringify(ns.name)})`);
    labels(`namespaces[${i}].labels`, ns.labels);
  });
  return spec;
}

/** The pods a spec creates: `spec.pods`, or `podsPerNode` per node named `pod-<node>-<i>` (1-based). */
export function labPods(spec: LabSpec): readonly LabPodSpec[] {
  if (spec.pods !== undefined) return spec.pods;
  const pods: LabPodSpec[] = [];
  for (let node = 0; node < spec.nodes; node++) {
    for (let i = 0; i < spec.podsPerNode; i++) {
      const name = `pod-${node + 1}-${i + 1}`;
      pods.push({ name, namespace: LAB_DEFAULTS.namespace, node, labels: { app: name } });
    }
  }
  return pods;
}

/** Every namespace the pods use, with the labels the spec gives it and `kubernetes.io/metadata.name`. */
export function labNamespaces(spec: LabSpec): readonly LabNamespaceSpec[] {
  const given = new Map((spec.namespaces ?? []).map((ns) => [ns.name, ns.labels]));
  const names = [...new Set([...given.keys(), ...labPods(spec).map((pod) => pod.namespace)])].sort();
  return names.map((name) => ({ name, labels: { ...given.get(name), 'kubernetes.io/metadata.name': name } }));
}
