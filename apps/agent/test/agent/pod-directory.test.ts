// The served plugin's Pods on a datastore with annotate (the Kubernetes one's contract,
// here over the embedded datastore with a merge of annotations): the lookup ADD makes,
// Calico's annotations after ADD, their removal after DEL of the same container only,
// and a failed annotate that is logged and not thrown.
import { MemoryStore } from '@twill/ipam';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { type ClosableResourceDatastore, resourceDatastoreOver } from '../../src/agent/datastore/index.js';
import { DatastorePodDirectory, POD_ANNOTATIONS, podAnnotationsOf } from '../../src/agent/pod-directory.js';
import { type AgentLogger, type ResourceDatastore } from '../../src/agent/ports.js';
import { PodNotFoundError, TwillPluginError } from '../../src/plugin/errors.js';
import { type EndpointRecord } from '../../src/plugin/ports.js';

const record: EndpointRecord = {
  network: 'k8s-pod-network',
  containerId: 'c1',
  ifName: 'eth0',
  hostInterface: 'tw0123456789a',
  addresses: ['10.244.0.5/32', 'fd00:10:244::5/128'],
  namespace: 'shop',
  pod: 'web-0',
  since: 1,
  node: 'node-a',
};

describe('DatastorePodDirectory', () => {
  let datastore: ClosableResourceDatastore;
  let warnings: string[];
  let annotateFails: Error | undefined;
  let logger: AgentLogger;
  let pods: Pick<ResourceDatastore, 'get' | 'annotate'>;

  beforeEach(async () => {
    datastore = resourceDatastoreOver(new MemoryStore());
    warnings = [];
    annotateFails = undefined;
    logger = { debug: () => undefined, info: () => undefined, warn: (obj, msg) => warnings.push(`${msg} ${JSON.stringify(obj)}`), error: () => undefined };
    await datastore.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    await datastore.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: 'shop', annotations: { team: 'a' } }, spec: {} });
    // annotate as a JSON merge patch of metadata.annotations does it (null removes a key).
    pods = {
      get: (kind, name, namespace) => datastore.get(kind, name, namespace),
      annotate: async (kind, name, namespace, annotations, options) => {
        if (annotateFails !== undefined) throw annotateFails;
        const current = await datastore.get(kind, name, namespace);
        if (current === undefined) return false;
        const merged: Record<string, string> = { ...current.metadata.annotations };
        for (const [key, value] of Object.entries(annotations)) {
          if (value === null) delete merged[key];
          else merged[key] = value;
        }
        // A given resourceVersion is a precondition: the datastore's apply refuses a stale one.
        const resourceVersion = options?.resourceVersion ?? current.metadata.resourceVersion;
        await datastore.apply({ ...current, metadata: { ...current.metadata, resourceVersion, annotations: merged } });
        return true;
      },
    };
  });

  afterEach(async () => {
    await datastore.close();
  });

  const annotations = async (): Promise<Readonly<Record<string, string>> | undefined> => (await datastore.get('pods', 'web-0', 'shop'))?.metadata.annotations;

  // A fake clock that the directory's waits move forward.
  const fakeTime = () => {
    let now = 0;
    const waits: number[] = [];
    return { waits, now: () => now, sleep: async (ms: number) => void (waits.push(ms), (now += ms)) };
  };

  it('finds an existing Pod and refuses one still missing after the grace time with PodNotFoundError naming it', async () => {
    const time = fakeTime();
    const directory = new DatastorePodDirectory({ datastore: pods, logger, missGraceMs: 1_000, now: time.now, sleep: time.sleep });
    await expect(directory.require('shop', 'web-0')).resolves.toBeUndefined();
    expect(time.waits).toEqual([]);
    const error = await directory.require('shop', 'web-1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PodNotFoundError);
    expect(error).toMatchObject({ code: 123, msg: 'twill: pod shop/web-1 does not exist in the Kubernetes API' });
    expect(time.waits).toEqual(Array.from({ length: 10 }, () => 100));
  });

  it('looks again for a Pod its datastore has not seen yet (a watch cache behind the API server)', async () => {
    const time = fakeTime();
    let looks = 0;
    const lagging: Pick<ResourceDatastore, 'get'> = {
      get: async (kind, name, namespace) => ((looks += 1) < 4 ? undefined : datastore.get(kind, name, namespace)),
    };
    await new DatastorePodDirectory({ datastore: lagging, logger, now: time.now, sleep: time.sleep }).require('shop', 'web-0');
    expect({ looks, waits: time.waits }).toEqual({ looks: 4, waits: [100, 100, 100] });
  });

  it('says the datastore could not be read with code 11 (try again later)', async () => {
    const directory = new DatastorePodDirectory({ datastore: { get: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6443')) }, logger });
    const error = await directory.require('shop', 'web-0').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TwillPluginError);
    expect(error).toMatchObject({ code: 11, msg: 'twill: pod shop/web-0 could not be read from the datastore', details: 'connect ECONNREFUSED 127.0.0.1:6443' });
  });

  it("records Calico's podIP, podIPs and containerID on the Pod, keeping its other annotations", async () => {
    expect(podAnnotationsOf(record)).toEqual({
      'cni.projectcalico.org/podIP': '10.244.0.5/32',
      'cni.projectcalico.org/podIPs': '10.244.0.5/32,fd00:10:244::5/128',
      'cni.projectcalico.org/containerID': 'c1',
    });
    await new DatastorePodDirectory({ datastore: pods, logger }).added(record);
    expect(await annotations()).toEqual({ team: 'a', ...podAnnotationsOf(record) });
  });

  it("removes them on DEL of that container, and leaves a newer container's alone", async () => {
    const directory = new DatastorePodDirectory({ datastore: pods, logger });
    await directory.added(record);
    await directory.added({ ...record, containerId: 'c2', addresses: ['10.244.0.9/32'] });
    await directory.deleted(record);
    expect((await annotations())?.[POD_ANNOTATIONS.containerId]).toBe('c2');
    await directory.deleted({ ...record, containerId: 'c2' });
    expect(await annotations()).toEqual({ team: 'a' });
    expect(warnings).toEqual([]);
  });

  it("leaves a newer container's annotations written between its DEL's read and its removal (the removal is conditioned on what it read)", async () => {
    const directory = new DatastorePodDirectory({ datastore: pods, logger, sleep: async () => undefined });
    await directory.added(record);
    const newer = { ...record, containerId: 'c2', addresses: ['10.244.0.9/32'] };
    let reads = 0;
    const racing: Pick<ResourceDatastore, 'get' | 'annotate'> = {
      get: async (kind, name, namespace) => {
        const read = await pods.get(kind, name, namespace);
        // The new sandbox's ADD lands right after the DEL read the Pod.
        if (++reads === 1) await directory.added(newer);
        return read;
      },
      annotate: pods.annotate!,
    };
    await new DatastorePodDirectory({ datastore: racing, logger, sleep: async () => undefined }).deleted(record);
    expect(reads).toBe(2);
    expect(await annotations()).toEqual({ team: 'a', ...podAnnotationsOf(newer) });
    expect(warnings).toEqual([]);
  });

  it('logs a failed annotate instead of throwing, and a Pod gone since', async () => {
    const directory = new DatastorePodDirectory({ datastore: pods, logger });
    annotateFails = new Error('pods "web-0" is forbidden: User cannot patch resource "pods"');
    await expect(directory.added(record)).resolves.toBeUndefined();
    expect(warnings).toEqual([`recording the pod's addresses failed {"pod":"shop/web-0","containerId":"c1","err":"pods \\"web-0\\" is forbidden: User cannot patch resource \\"pods\\""}`]);
    annotateFails = undefined;
    await directory.added({ ...record, pod: 'web-9' });
    expect(warnings[1]).toBe(`recording the pod's addresses: the pod is gone {"pod":"shop/web-9","containerId":"c1"}`);
  });
});
