// The policy controller over a resource datastore on a memory store and a recording
// dataplane that holds the port's contract (serialised applies, the full state first,
// rules known for every endpoint attached, detach only of attached endpoints) and keeps
// what a driver would program, so the tests read the outcome: who is attached, and
// whether an endpoint is isolated.

import { MemoryStore } from '@twill/ipam';
import { afterEach, describe, expect, it } from 'vitest';

import { type EndpointPolicy } from '@twill/policy-engine';

import { type AgentResource } from '../../../src/agent/ports.js';
import { PolicyController } from '../../../src/agent/controllers/policy.js';
import { resourceDatastoreOver, type ClosableResourceDatastore } from '../../../src/agent/datastore/index.js';
import { type ApplyReport, type Dataplane, type DataplaneChange, type DataplaneStatus } from '../../../src/dataplane/port.js';
import { StoreEndpointRegistry } from '../../../src/plugin/endpoints.js';
import { type EndpointRecord } from '../../../src/plugin/ports.js';

/** A driver in memory that fails the test on a breach of the Dataplane port's contract. */
class RecordingDataplane implements Dataplane {
  readonly driver = 'nftables' as const;
  readonly applies: DataplaneChange[] = [];
  readonly rules = new Map<string, EndpointPolicy>();
  readonly ipcache = new Map<string, number>();
  readonly attached = new Map<string, string>();
  readonly breaches: string[] = [];
  #busy = false;
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;
  failNext: Error | undefined;
  /** Endpoints the kernel is said to hold only in part (as a driver reads back after tampering). */
  readonly partial = new Set<string>();

  /** Holds every apply until `release()`. */
  hold(): void {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
  }

  release(): void {
    this.#open?.();
    this.#gate = undefined;
  }

  async apply(change: DataplaneChange): Promise<ApplyReport> {
    if (this.#busy) this.breaches.push('apply called while another apply runs');
    this.#busy = true;
    try {
      if (this.applies.length === 0 && (change.policy.removed.length > 0 || change.policy.ipcache.removed.length > 0 || change.detach !== undefined)) {
        this.breaches.push('the first apply is not a full state');
      }
      this.applies.push(change);
      await this.#gate;
      if (this.failNext !== undefined) {
        const error = this.failNext;
        this.failNext = undefined;
        throw error;
      }
      const changedKeys = new Set(change.policy.changed.map((c) => c.key));
      for (const ref of change.policy.removed) {
        const key = `${ref.namespace}/${ref.name}`;
        if (changedKeys.has(key)) this.breaches.push(`${key} both removed and changed`);
        this.rules.delete(key);
      }
      for (const { changed: _, ...rules } of change.policy.changed) this.rules.set(rules.key, rules);
      for (const prefix of change.policy.ipcache.removed) this.ipcache.delete(prefix);
      for (const { prefix, identity } of change.policy.ipcache.set) this.ipcache.set(prefix, identity);
      for (const key of change.detach ?? []) {
        if (!this.attached.has(key)) this.breaches.push(`detach of ${key}, which is not attached`);
        this.attached.delete(key);
      }
      for (const { key, hostInterface } of change.attach ?? []) {
        // The controller attaches only endpoints whose rules it has sent: never fail-closed by accident.
        if (!this.rules.has(key)) this.breaches.push(`attach of ${key} without its rules`);
        this.attached.set(key, hostInterface);
      }
      return { endpoints: changedKeys.size, operations: 1, durationMs: 0 };
    } finally {
      this.#busy = false;
    }
  }

  status(): Promise<DataplaneStatus> {
    return Promise.resolve({ driver: 'nftables', endpoints: [...this.attached].map(([key, hostInterface]) => ({ key, hostInterface, programmed: !this.partial.has(key) })), drift: [] });
  }

  cleanup(): Promise<void> {
    return Promise.resolve();
  }

  /** Whether an attached endpoint's ingress is isolated (some tier ends in deny). */
  isolated(key: string): boolean {
    return this.rules.get(key)?.ingress.tiers.some((t) => t.end === 'deny') ?? false;
  }
}

class RecordingMetrics {
  readonly programming: number[] = [];
  readonly endpoints: number[] = [];
  observeCniRequest(): void {}
  observePolicyProgramming(seconds: number): void {
    this.programming.push(seconds);
  }
  setEndpoints(count: number): void {
    this.endpoints.push(count);
  }
  setBgpPeerState(): void {}
}

const record = (containerId: string, pod: string, address: string, node = 'node-a', namespace = 'x'): EndpointRecord => ({
  network: 'k8s-pod-network',
  containerId,
  ifName: 'eth0',
  hostInterface: `tw${containerId}`,
  addresses: [`${address}/32`],
  netns: `/run/netns/${containerId}`,
  namespace,
  pod,
  since: 1_000,
  node,
});

const pod = (name: string, labels: Record<string, string>, namespace = 'x'): AgentResource => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, spec: { containers: [{ name: 'c', image: 'img' }] } });
const namespace = (name: string, labels: Record<string, string> = {}): AgentResource => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });

/** x/b accepts only app=web. */
const ONLY_WEB_TO_B: AgentResource = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'only-web', namespace: 'x' },
  spec: { podSelector: { matchLabels: { app: 'b' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] },
};

// Waits for something the watch delivers within its poll interval (never a timing assert).
async function until(what: string, predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i += 1) {
    if (predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Setup {
  readonly store: MemoryStore;
  readonly datastore: ClosableResourceDatastore;
  readonly registry: StoreEndpointRegistry;
  readonly dataplane: RecordingDataplane;
  readonly metrics: RecordingMetrics;
  controller(dataplane?: Dataplane | undefined): PolicyController;
}

const open: { controllers: PolicyController[]; datastores: ClosableResourceDatastore[] } = { controllers: [], datastores: [] };

function setup(store = new MemoryStore()): Setup {
  const datastore = resourceDatastoreOver(store, { pollMs: 5 });
  open.datastores.push(datastore);
  const dataplane = new RecordingDataplane();
  const metrics = new RecordingMetrics();
  return {
    store,
    datastore,
    registry: new StoreEndpointRegistry(store),
    dataplane,
    metrics,
    controller: (chosen: Dataplane | undefined = dataplane) => {
      const controller = new PolicyController({ datastore, dataplane: chosen, nodeName: 'node-a', network: 'k8s-pod-network', metrics, retryMs: 10 });
      open.controllers.push(controller);
      return controller;
    },
  };
}

afterEach(async () => {
  await Promise.all(open.controllers.splice(0).map((c) => c.stop()));
  await Promise.all(open.datastores.splice(0).map((d) => d.close()));
});

describe('PolicyController', () => {
  it('starts with the full state: every node\'s endpoints with their pods\' labels, this node\'s attached', async () => {
    const { datastore, registry, dataplane, metrics, controller } = setup();
    for (const resource of [namespace('x'), pod('a', { app: 'web' }), pod('b', { app: 'b' }), pod('c', { app: 'c' }), ONLY_WEB_TO_B]) await datastore.apply(resource);
    await registry.register(record('ca', 'a', '10.0.0.1'));
    await registry.register(record('cb', 'b', '10.0.0.2'));
    await registry.register(record('cc', 'c', '10.0.1.3', 'node-b'));
    const policy = controller();
    await policy.start();
    expect(policy.ready()).toBe(true);
    expect(dataplane.applies).toHaveLength(1);
    expect(dataplane.breaches).toEqual([]);
    expect([...dataplane.attached]).toEqual([['x/a', 'twca'], ['x/b', 'twcb']]);
    expect([...dataplane.rules.keys()].sort()).toEqual(['x/a', 'x/b', 'x/c']);
    expect([...dataplane.ipcache.keys()].sort()).toEqual(['10.0.0.1', '10.0.0.2', '10.0.1.3']);
    expect(dataplane.isolated('x/b')).toBe(true);
    expect(dataplane.isolated('x/a')).toBe(false);
    expect(policy.status()).toEqual({
      ready: true,
      endpoints: [
        { key: 'x/a', containerId: 'ca', node: 'node-a', hostInterface: 'twca', addresses: ['10.0.0.1'], labels: { app: 'web' }, attached: true },
        { key: 'x/b', containerId: 'cb', node: 'node-a', hostInterface: 'twcb', addresses: ['10.0.0.2'], labels: { app: 'b' }, attached: true },
        { key: 'x/c', containerId: 'cc', node: 'node-b', hostInterface: 'twcc', addresses: ['10.0.1.3'], labels: { app: 'c' }, attached: false },
      ],
      policies: 1,
      problems: [],
    });
    expect(metrics.programming).toHaveLength(1);
    expect(metrics.endpoints).toEqual([2]);
  });

  it('programs a policy applied through the datastore, and takes it away when it is deleted', async () => {
    const { datastore, registry, dataplane, controller } = setup();
    await datastore.apply(pod('b', { app: 'b' }));
    await registry.register(record('cb', 'b', '10.0.0.2'));
    const policy = controller();
    await policy.start();
    expect(dataplane.isolated('x/b')).toBe(false);
    await datastore.apply(ONLY_WEB_TO_B);
    await until('the policy', () => policy.status().policies === 1);
    await policy.settled();
    expect(dataplane.isolated('x/b')).toBe(true);
    await datastore.delete('networkpolicies.networking.k8s.io', 'only-web', 'x');
    await until('the delete', () => policy.status().policies === 0);
    await policy.settled();
    expect(dataplane.isolated('x/b')).toBe(false);
    expect(dataplane.breaches).toEqual([]);
  });

  it('follows a pod\'s labels: relabelled out of the policy\'s selector, its endpoint is no longer isolated', async () => {
    const { datastore, registry, dataplane, controller } = setup();
    await datastore.apply(pod('b', { app: 'b' }));
    await datastore.apply(ONLY_WEB_TO_B);
    await registry.register(record('cb', 'b', '10.0.0.2'));
    const policy = controller();
    await policy.start();
    expect(dataplane.isolated('x/b')).toBe(true);
    await datastore.apply(pod('b', { app: 'other' }));
    await until('the relabel', () => policy.status().endpoints[0]?.labels['app'] === 'other');
    await policy.settled();
    expect(dataplane.isolated('x/b')).toBe(false);
  });

  it('enforce ahead of the watch: resolves only once an apply attached the endpoint with its rules', async () => {
    const { datastore, registry, dataplane, controller } = setup();
    await datastore.apply(pod('b', { app: 'b' }));
    await datastore.apply(ONLY_WEB_TO_B);
    const policy = controller();
    await policy.start();
    dataplane.hold();
    const b = record('cb', 'b', '10.0.0.2');
    await registry.register(b);
    let resolved = false;
    const enforced = policy.enforce(b).then(() => {
      resolved = true;
    });
    await until('the apply', () => dataplane.applies.length === 2);
    // Whatever else runs meanwhile (the watch's polls included), enforce waits for the apply.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(resolved).toBe(false);
    dataplane.release();
    await enforced;
    expect(dataplane.attached.get('x/b')).toBe('twcb');
    expect(dataplane.isolated('x/b')).toBe(true);
    // The watch seeing the same record later changes nothing.
    await new Promise((resolve) => setTimeout(resolve, 30));
    await policy.settled();
    expect(dataplane.applies).toHaveLength(2);
    expect(dataplane.breaches).toEqual([]);
  });

  it('enforce behind the watch: a record seen after start is known (its address, for others\' rules) but attached only when enforced', async () => {
    const { registry, dataplane, controller } = setup();
    const policy = controller();
    await policy.start();
    const b = record('cb', 'b', '10.0.0.2');
    await registry.register(b);
    await until('the record', () => policy.status().endpoints.length === 1);
    await policy.settled();
    expect(dataplane.rules.has('x/b')).toBe(true);
    expect(dataplane.attached.has('x/b')).toBe(false);
    await policy.enforce(b);
    expect(dataplane.attached.get('x/b')).toBe('twcb');
    // Enforcing what is programmed already resolves without another apply.
    const applies = dataplane.applies.length;
    await policy.enforce(b);
    expect(dataplane.applies).toHaveLength(applies);
  });

  it('forget detaches the endpoint and removes its rules and address', async () => {
    const { registry, dataplane, controller } = setup();
    await registry.register(record('ca', 'a', '10.0.0.1'));
    const policy = controller();
    await policy.start();
    expect(dataplane.attached.has('x/a')).toBe(true);
    await registry.unregister('k8s-pod-network', 'ca');
    await policy.forget('k8s-pod-network', 'ca');
    await policy.settled();
    expect(dataplane.attached.size).toBe(0);
    expect(dataplane.rules.size).toBe(0);
    expect(dataplane.ipcache.size).toBe(0);
    expect(dataplane.breaches).toEqual([]);
  });

  it('coalesces what arrives during an apply into the next one', async () => {
    const { datastore, registry, dataplane, controller } = setup();
    for (const name of ['a', 'b', 'c']) {
      await datastore.apply(pod(name, { app: name }));
      await registry.register(record(`c${name}`, name, `10.0.0.${name.charCodeAt(0) - 96}`));
    }
    const policy = controller();
    await policy.start();
    dataplane.hold();
    const isolate = (name: string): AgentResource => ({ ...ONLY_WEB_TO_B, metadata: { name: `isolate-${name}`, namespace: 'x' }, spec: { podSelector: { matchLabels: { app: name } }, policyTypes: ['Ingress'] } });
    await datastore.apply(isolate('a'));
    await until('the first apply', () => dataplane.applies.length === 2);
    await datastore.apply(isolate('b'));
    await datastore.apply(isolate('c'));
    await until('both policies', () => policy.status().policies === 3);
    dataplane.release();
    await policy.settled();
    expect(dataplane.applies).toHaveLength(3);
    expect(dataplane.applies[2]?.policy.changed.map((c) => c.key)).toEqual(['x/b', 'x/c']);
    expect(['x/a', 'x/b', 'x/c'].map((k) => dataplane.isolated(k))).toEqual([true, true, true]);
  });

  it('a failed apply rejects enforce with the driver\'s error, and the retry programs it with what came since', async () => {
    const { datastore, registry, dataplane, controller } = setup();
    await datastore.apply(pod('b', { app: 'b' }));
    const policy = controller();
    await policy.start();
    const b = record('cb', 'b', '10.0.0.2');
    await registry.register(b);
    dataplane.failNext = new Error('nft: Error: Could not process rule: Device or resource busy');
    await expect(policy.enforce(b)).rejects.toThrow('nft: Error: Could not process rule: Device or resource busy');
    expect(policy.status().lastApplyError).toBe('nft: Error: Could not process rule: Device or resource busy');
    await datastore.apply(ONLY_WEB_TO_B);
    await until('the retry', () => dataplane.attached.has('x/b') && dataplane.isolated('x/b'));
    await policy.settled();
    expect(policy.status().lastApplyError).toBeUndefined();
    expect(dataplane.breaches).toEqual([]);
  });

  it('a restarted controller attaches the endpoints already there, in its first (full) apply', async () => {
    const first = setup();
    await first.datastore.apply(pod('b', { app: 'b' }));
    await first.datastore.apply(ONLY_WEB_TO_B);
    const policy = first.controller();
    await policy.start();
    const b = record('cb', 'b', '10.0.0.2');
    await first.registry.register(b);
    await policy.enforce(b);
    await policy.stop();
    const second = setup(first.store);
    await second.controller().start();
    expect(second.dataplane.applies).toHaveLength(1);
    expect([...second.dataplane.attached]).toEqual([['x/b', 'twcb']]);
    expect(second.dataplane.isolated('x/b')).toBe(true);
  });

  it('refuses to enforce an endpoint whose address another endpoint has, and says so in status', async () => {
    const { registry, controller } = setup();
    await registry.register(record('ca', 'a', '10.0.0.1'));
    const policy = controller();
    await policy.start();
    const clash = record('cb', 'b', '10.0.0.1');
    await expect(policy.enforce(clash)).rejects.toThrow(/^policy: endpoint cb: .*10\.0\.0\.1/);
    expect(policy.status().problems).toEqual([expect.stringMatching(/^endpoint:x\/b: .*10\.0\.0\.1/)]);
    // Once the other one is gone, the endpoint goes in.
    await registry.unregister('k8s-pod-network', 'ca');
    await policy.forget('k8s-pod-network', 'ca');
    await policy.settled();
    expect(policy.status().problems).toEqual([]);
    expect(policy.status().endpoints.map((e) => [e.key, e.attached])).toEqual([['x/b', true]]);
  });

  it('holds a Calico policy whose tier does not exist yet, and programs it when the tier comes', async () => {
    const { datastore, registry, dataplane, controller } = setup();
    await datastore.apply(pod('b', { app: 'b' }));
    await registry.register(record('cb', 'b', '10.0.0.2'));
    const policy = controller();
    await policy.start();
    await datastore.apply({
      apiVersion: 'projectcalico.org/v3', kind: 'GlobalNetworkPolicy', metadata: { name: 'security.deny-b' },
      spec: { tier: 'security', order: 10, selector: 'app == "b"', types: ['Ingress'], ingress: [{ action: 'Deny' }] },
    });
    await until('the refusal', () => policy.status().problems.length === 1);
    expect(policy.status().problems[0]).toMatch(/^document:globalnetworkpolicies\.projectcalico\.org\/-\/security\.deny-b: .*security/);
    expect(dataplane.isolated('x/b')).toBe(false);
    await datastore.apply({ apiVersion: 'projectcalico.org/v3', kind: 'Tier', metadata: { name: 'security' }, spec: { order: 100 } });
    await until('the tier', () => policy.status().policies === 1);
    await policy.settled();
    expect(policy.status().problems).toEqual([]);
    expect(dataplane.rules.get('x/b')?.ingress.tiers.map((t) => t.tier)).toEqual(['security']);
  });

  it('without a dataplane computes the index and resolves enforce at once', async () => {
    const { registry, controller } = setup();
    const policy = controller(undefined);
    await policy.start();
    const b = record('cb', 'b', '10.0.0.2');
    await registry.register(b);
    await policy.enforce(b);
    expect(policy.ready()).toBe(true);
    expect(policy.status().endpoints.map((e) => e.key)).toEqual(['x/b']);
  });

  it('a pod whose sandbox is re-created before the old one\'s DEL: the newest record is its endpoint', async () => {
    const { registry, dataplane, controller } = setup();
    const old = record('c-old', 'b', '10.0.0.2');
    await registry.register(old);
    const policy = controller();
    await policy.start();
    const fresh = { ...record('c-new', 'b', '10.0.0.7'), since: 2_000 };
    await registry.register(fresh);
    await policy.enforce(fresh);
    expect(dataplane.attached.get('x/b')).toBe('twc-new');
    expect([...dataplane.ipcache.keys()]).toEqual(['10.0.0.7']);
    await registry.unregister('k8s-pod-network', 'c-old');
    await policy.forget('k8s-pod-network', 'c-old');
    await policy.settled();
    expect(dataplane.attached.get('x/b')).toBe('twc-new');
    expect(policy.status().endpoints.map((e) => [e.key, e.containerId, e.addresses])).toEqual([['x/b', 'c-new', ['10.0.0.7']]]);
    expect(dataplane.breaches).toEqual([]);
  });

  it('check tells CHECK where an endpoint\'s enforcement falls short, and nothing when it is in place', async () => {
    const { registry, dataplane, controller } = setup();
    const policy = controller();
    await policy.start();
    const b = record('cb', 'b', '10.0.0.2');
    await registry.register(b);
    await until('the record', () => policy.status().endpoints.length === 1);
    expect(await policy.check(b)).toEqual(['policy: endpoint x/b is not attached to the nftables dataplane']);
    await policy.enforce(b);
    expect(await policy.check(b)).toEqual([]);
    expect(await policy.check({ ...b, hostInterface: 'twother' })).toEqual(['policy: endpoint x/b is attached to twcb, not twother']);
    dataplane.partial.add('x/b');
    expect(await policy.check(b)).toEqual(['policy: the nftables dataplane has endpoint x/b on twcb not fully programmed']);
    const stranger = record('cz', 'z', '10.0.0.26');
    expect(await policy.check(stranger)).toEqual(['policy: endpoint x/z is not in the policy index', 'policy: endpoint x/z is not attached to the nftables dataplane']);
  });

  it('grows the L7 redirect before the apply that needs it and shrinks it after, each apply waiting for the redirect', async () => {
    const { datastore, registry, dataplane } = setup();
    const l7Policy = (port: string): AgentResource => ({
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNetworkPolicy',
      metadata: { name: 'b-http', namespace: 'x' },
      spec: { endpointSelector: { matchLabels: { app: 'b' } }, ingress: [{ toPorts: [{ ports: [{ port, protocol: 'TCP' }], rules: { http: [{ method: 'GET' }] } }] }] },
    });
    await datastore.apply(pod('b', { app: 'b' }));
    await registry.register(record('cb', 'b', '10.0.0.2'));
    await datastore.apply(l7Policy('8080'));
    const events: string[] = [];
    const apply = dataplane.apply.bind(dataplane);
    dataplane.apply = (change) => {
      events.push('apply');
      return apply(change);
    };
    const policy = new PolicyController({
      datastore, dataplane, nodeName: 'node-a', network: 'k8s-pod-network', retryMs: 10,
      onL7Targets: async (targets) => {
        const ports = targets.ingress.flatMap((t) => t.ports.map((p) => `${t.address}:${p.first}`)).join(' ') || 'nothing';
        events.push(`redirect ${ports}`);
        // Installing it takes a while: the apply waits.
        await new Promise((resolve) => setTimeout(resolve, 20));
        events.push('installed');
      },
    });
    open.controllers.push(policy);
    await policy.start();
    expect(events).toEqual(['redirect 10.0.0.2:8080', 'installed', 'apply']);

    // The rule moves to 9090: both ports while the dataplane changes, then 9090 alone.
    events.length = 0;
    await datastore.apply(l7Policy('9090'));
    await until('the change', () => events.length >= 5);
    await policy.settled();
    expect(events).toEqual(['redirect 10.0.0.2:8080 10.0.0.2:9090', 'installed', 'apply', 'redirect 10.0.0.2:9090', 'installed']);

    // The rule goes: the redirect keeps it until the dataplane no longer needs the proxy's mark.
    events.length = 0;
    await datastore.delete('ciliumnetworkpolicies.cilium.io', 'b-http', 'x');
    await until('the delete', () => events.length >= 3);
    await policy.settled();
    expect(events).toEqual(['apply', 'redirect nothing', 'installed']);
    expect(dataplane.breaches).toEqual([]);
  });

  it('tries a failed apply again by itself, and is ready once it succeeds', async () => {
    const { registry, dataplane, controller } = setup();
    await registry.register(record('ca', 'a', '10.0.0.1'));
    dataplane.failNext = new Error('nft: Error: Could not process rule: Device or resource busy');
    const policy = controller();
    await policy.start();
    expect(policy.ready()).toBe(false);
    expect(policy.status().lastApplyError).toBe('nft: Error: Could not process rule: Device or resource busy');
    await until('the retry', () => policy.ready());
    expect(dataplane.attached.get('x/a')).toBe('twca');
    expect(dataplane.applies).toHaveLength(2);
    expect(dataplane.breaches).toEqual([]);
  });
});
