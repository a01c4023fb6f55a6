// The lab's spec from `twill lab up`'s options and from the demonstration's objects:
// defaults, and every bad value with the message a person sees.
import { describe, expect, it } from 'vitest';

import { type LabSpec } from '../../src/lab/ports.js';
import { labNamespaces, labPods, labSpecFromOptions, validateLabSpec } from '../../src/lab/spec.js';

const host = { birdInstalled: true, defaultDir: '/run/twill-lab', cwd: '/home/me' };
const spec: LabSpec = { nodes: 2, podsPerNode: 1, dataplane: 'nftables', tor: 'none', dir: '/tmp/lab' };

describe('labSpecFromOptions', () => {
  it('fills in 3 nodes x 3 pods, nftables, the BIRD ToR when installed and the default folder', () => {
    expect(labSpecFromOptions({}, host)).toEqual({ nodes: 3, podsPerNode: 3, dataplane: 'nftables', tor: 'bird', dir: '/run/twill-lab' });
    expect(labSpecFromOptions({}, { ...host, birdInstalled: false }).tor).toBe('none');
  });

  it('takes the options, resolving a relative --dir against the working directory', () => {
    expect(labSpecFromOptions({ nodes: '2', podsPerNode: '0', dataplane: 'ebpf', tor: 'none', dir: 'labs/a' }, host)).toEqual({ nodes: 2, podsPerNode: 0, dataplane: 'ebpf', tor: 'none', dir: '/home/me/labs/a' });
  });

  it.each([
    [{ nodes: '0' }, '--nodes: must be an integer 1-16 (got "0")'],
    [{ nodes: '17' }, '--nodes: must be an integer 1-16 (got "17")'],
    [{ nodes: '2.5' }, '--nodes: must be an integer 1-16 (got "2.5")'],
    [{ podsPerNode: '-1' }, '--pods-per-node: must be an integer 0-32 (got "-1")'],
    [{ podsPerNode: 'many' }, '--pods-per-node: must be an integer 0-32 (got "many")'],
    [{ dataplane: 'iptables' }, '--dataplane: must be one of nftables, ebpf (got "iptables")'],
    [{ tor: 'frr' }, '--tor: must be one of bird, none (got "frr")'],
    [{ dir: ' ' }, '--dir: must be a folder path (got "")'],
    [{ dir: '/' }, 'dir: must be an absolute folder other than / (got "/")'],
  ])('%j: %s', (options, message) => {
    expect(() => labSpecFromOptions(options, host)).toThrow(message);
  });

  it('says how to get BIRD when --tor bird is asked for without it', () => {
    expect(() => labSpecFromOptions({ tor: 'bird' }, { ...host, birdInstalled: false })).toThrow('--tor: bird needs BIRD 2 at /usr/sbin/bird (apt-get install bird2), or --tor none for a full mesh');
  });
});

describe('validateLabSpec', () => {
  it.each([
    [{ pods: [{ name: 'Web', namespace: 'a', node: 0, labels: {} }] }, 'pods[0].name: must be a DNS-1123 label (got "Web")'],
    [{ pods: [{ name: 'web', namespace: 'a_b', node: 0, labels: {} }] }, 'pods[0].namespace: must be a DNS-1123 label (got "a_b")'],
    [{ pods: [{ name: 'web', namespace: 'a', node: 2, labels: {} }] }, 'pods[0].node: must be a node index 0-1 (got 2)'],
    [{ pods: [{ name: 'web', namespace: 'a', node: 0, labels: { app: 3 } }] }, 'pods[0].labels.app: must be a string (got 3)'],
    [
      {
        pods: [
          { name: 'web', namespace: 'a', node: 0, labels: {} },
          { name: 'web', namespace: 'a', node: 1, labels: {} },
        ],
      },
      'pods[1].name: a/web is already a pod of the lab',
    ],
    [{ namespaces: [{ name: 'A', labels: {} }] }, 'namespaces[0].name: must be a DNS-1123 label (got "A")'],
    [{ dir: 'relative' }, 'dir: must be an absolute folder other than / (got "relative")'],
  ])('%j: %s', (change, message) => {
    expect(() => validateLabSpec({ ...spec, ...change } as LabSpec)).toThrow(message);
  });

  it('lays out podsPerNode pods per node, and the namespaces with their metadata.name label', () => {
    expect(labPods(spec)).toEqual([
      { name: 'pod-1-1', namespace: 'default', node: 0, labels: { app: 'pod-1-1' } },
      { name: 'pod-2-1', namespace: 'default', node: 1, labels: { app: 'pod-2-1' } },
    ]);
    const given: LabSpec = { ...spec, pods: [{ name: 'db', namespace: 'prod', node: 1, labels: { app: 'database' } }], namespaces: [{ name: 'prod', labels: { env: 'prod' } }, { name: 'empty', labels: {} }] };
    expect(labPods(given)).toEqual(given.pods);
    expect(labNamespaces(given)).toEqual([
      { name: 'empty', labels: { 'kubernetes.io/metadata.name': 'empty' } },
      { name: 'prod', labels: { env: 'prod', 'kubernetes.io/metadata.name': 'prod' } },
    ]);
  });
});
