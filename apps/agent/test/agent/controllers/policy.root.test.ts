// The policy controller with the real nftables driver in a scratch node namespace (the
// dataplane harness's lab): a policy applied through the datastore denies real traffic,
// an endpoint enforced as ADD would is isolated when enforce resolves, and deleting the
// policy lets the traffic through again.

import { execFileSync } from 'node:child_process';

import { MemoryStore } from '@twill/ipam';
import { rootSkipReason } from '@twill/sys/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { PolicyController } from '../../../src/agent/controllers/policy.js';
import { resourceDatastoreOver, type ClosableResourceDatastore } from '../../../src/agent/datastore/index.js';
import { type AgentResource } from '../../../src/agent/ports.js';
import { createNftablesDataplane } from '../../../src/dataplane/nftables/index.js';
import { type Dataplane } from '../../../src/dataplane/port.js';
import { StoreEndpointRegistry } from '../../../src/plugin/endpoints.js';
import { type EndpointRecord } from '../../../src/plugin/ports.js';
import { DataplaneLab } from '../../dataplane/harness/index.js';

const reason = rootSkipReason('creates network namespaces and nft tables');

const NETWORK = 'k8s-pod-network';
const PODS = [{ key: 'x/a', ip: '10.1.1.1' }, { key: 'x/b', ip: '10.1.1.2' }];

/** x/b accepts TCP/80 only from app=web, which no pod here is. */
const ONLY_WEB_TO_B: AgentResource = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'only-web', namespace: 'x' },
  spec: { podSelector: { matchLabels: { app: 'b' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 80 }] }] },
};

// Waits for the watch to deliver a change (never a timing assert).
async function until(what: string, predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 1000; i += 1) {
    if (predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(reason)(`policy controller with the nftables driver as root${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let lab: DataplaneLab;
  let datastore: ClosableResourceDatastore;
  let registry: StoreEndpointRegistry;
  let dataplane: Dataplane;
  let controller: PolicyController;

  const recordOf = (key: string): EndpointRecord => {
    const pod = lab.pod(key);
    const name = key.split('/')[1] as string;
    return { network: NETWORK, containerId: `c-${name}`, ifName: 'eth0', hostInterface: pod.hostInterface, addresses: [`${pod.ip}/32`], netns: pod.netns, namespace: 'x', pod: name, since: Date.now(), node: 'node-a' };
  };
  const tcp = (from: string, to: string) => lab.attempt({ from, to, port: 80, protocol: 'TCP' }, 1500);

  beforeEach(async () => {
    lab = await DataplaneLab.create({ pods: PODS, ports: [80] });
    const store = new MemoryStore();
    datastore = resourceDatastoreOver(store, { pollMs: 10 });
    registry = new StoreEndpointRegistry(store);
    for (const name of ['a', 'b']) {
      await datastore.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'x', labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'img' }] } });
    }
    dataplane = await createNftablesDataplane({ netns: lab.node });
    controller = new PolicyController({ datastore, dataplane, nodeName: 'node-a', network: NETWORK });
  });

  afterEach(async () => {
    await controller.stop();
    await datastore.close();
    await dataplane.cleanup();
    lab.close();
  });

  it('denies real traffic once a policy is applied through the datastore, and allows it again when it is deleted', async () => {
    for (const key of ['x/a', 'x/b']) await registry.register(recordOf(key));
    await controller.start();
    expect(controller.status().endpoints.map((e) => [e.key, e.attached])).toEqual([['x/a', true], ['x/b', true]]);
    expect(await tcp('x/a', 'x/b')).toBe(true);

    await datastore.apply(ONLY_WEB_TO_B);
    await until('the policy', () => controller.status().policies === 1);
    await controller.settled();
    expect(await tcp('x/a', 'x/b')).toBe(false);
    expect(await tcp('x/b', 'x/a')).toBe(true);

    await datastore.delete('networkpolicies.networking.k8s.io', 'only-web', 'x');
    await until('the delete', () => controller.status().policies === 0);
    await controller.settled();
    expect(await tcp('x/a', 'x/b')).toBe(true);
    expect((await dataplane.status()).drift).toEqual([]);
  });

  it('has a new endpoint\'s policy in place when enforce resolves, as ADD needs before it returns', async () => {
    await datastore.apply(ONLY_WEB_TO_B);
    await registry.register(recordOf('x/a'));
    await controller.start();
    // x/b's links exist (the lab made them) and its record is new: what ADD hands over after plumbing.
    const b = recordOf('x/b');
    await registry.register(b);
    await controller.enforce(b);
    expect(await tcp('x/a', 'x/b')).toBe(false);
    const status = await dataplane.status();
    expect(status.endpoints.map((e) => [e.key, e.programmed])).toEqual([['x/a', true], ['x/b', true]]);
    expect(await controller.check(b)).toEqual([]);

    await registry.unregister(NETWORK, b.containerId);
    await controller.forget(NETWORK, b.containerId);
    await controller.settled();
    expect((await dataplane.status()).endpoints.map((e) => e.key)).toEqual(['x/a']);
    expect(await tcp('x/a', 'x/b')).toBe(true);

    // Taken out of the kernel behind the agent's back: CHECK's policy part says so.
    const a = recordOf('x/a');
    expect(await controller.check(a)).toEqual([]);
    execFileSync('ip', ['netns', 'exec', lab.node, 'nft', 'delete', 'element', 'inet', 'twill', 'ep_ingress', `{ "${a.hostInterface}" }`]);
    expect(await controller.check(a)).toEqual([`policy: the nftables dataplane has endpoint x/a on ${a.hostInterface} not fully programmed`]);
  });
});
