import { CniError } from '@twill/cni-core';
import { describe, expect, it } from 'vitest';

import { DATAPLANE_DRIVERS } from '../../src/dataplane/port.js';
import { databasePath, parseTwillConfig, TWILL_DATAPLANES } from '../../src/plugin/config.js';

const base = { cniVersion: '1.1.0', name: 'k8s-pod-network', type: 'twill', ipam: { type: 'twill-ipam', pools: [{ cidr: '10.244.0.0/16' }] } };
const options = { defaultNodeName: 'node-a' };

function failure(config: unknown): CniError {
  try {
    parseTwillConfig(config, options);
  } catch (error) {
    if (error instanceof CniError) return error;
    throw error;
  }
  throw new Error('parsed without an error');
}

describe('parseTwillConfig', () => {
  it('fills the defaults: pools in-process, nftables, the agent socket, /var/lib/twill', () => {
    const config = parseTwillConfig(base, options);
    expect(config).toMatchObject({ network: 'k8s-pod-network', mtu: 1500, dataplane: 'nftables', agentSocket: '/run/twill/agent.sock', logLevel: 'info', dataDir: '/var/lib/twill', datastore: 'sqlite' });
    expect(config.ipam.kind).toBe('pools');
    expect(config.ipam.kind === 'pools' && config.ipam.pools.nodeName).toBe('node-a');
    expect(databasePath(config)).toBe('/var/lib/twill/twill.db');
  });

  it('delegates twill-ipam without pools (its range mode) like any other IPAM plugin', () => {
    expect(parseTwillConfig({ ...base, ipam: { type: 'twill-ipam', subnet: '10.1.0.0/24' } }, options).ipam).toEqual({ kind: 'delegate', type: 'twill-ipam' });
  });

  it('reads every key it knows', () => {
    const config = parseTwillConfig(
      { ...base, mtu: 1450, dataplane: 'ebpf', agentSocket: '/tmp/a.sock', logLevel: 'debug', logFile: '/var/log/twill.log', dataDir: '/tmp/tw/', datastore: 'kubernetes', ipam: { type: 'host-local', subnet: '10.1.0.0/24' } },
      options,
    );
    expect(config).toMatchObject({ datastore: 'kubernetes', mtu: 1450, dataplane: 'ebpf', agentSocket: '/tmp/a.sock', logLevel: 'debug', logFile: '/var/log/twill.log', ipam: { kind: 'delegate', type: 'host-local' } });
    expect(databasePath(config)).toBe('/tmp/tw/twill.db');
  });

  it('offers exactly the dataplane port drivers', () => {
    expect([...TWILL_DATAPLANES].sort()).toEqual([...DATAPLANE_DRIVERS].sort());
  });

  // Each bad configuration, and the message (code 7) that names its field.
  const corpus: [string, unknown, string][] = [
    ['not an object', [], 'configuration: must be an object (got array)'],
    ['no name', { ...base, name: undefined }, 'name: must be a string (got undefined)'],
    ['empty name', { ...base, name: '' }, 'name: must not be empty'],
    ['MTU as text', { ...base, mtu: '1500' }, 'mtu: must be an integer from 68 to 65535 (got "1500")'],
    ['MTU too small', { ...base, mtu: 67 }, 'mtu: must be an integer from 68 to 65535 (got 67)'],
    ['MTU too large', { ...base, mtu: 65536 }, 'mtu: must be an integer from 68 to 65535 (got 65536)'],
    ['MTU fraction', { ...base, mtu: 1400.5 }, 'mtu: must be an integer from 68 to 65535 (got 1400.5)'],
    ['unknown dataplane', { ...base, dataplane: 'iptables' }, 'dataplane: must be one of "nftables", "ebpf" (got "iptables")'],
    ['dataplane not text', { ...base, dataplane: 1 }, 'dataplane: must be a string (got number)'],
    ['relative socket', { ...base, agentSocket: 'agent.sock' }, 'agentSocket: must be an absolute path (got "agent.sock")'],
    ['unknown log level', { ...base, logLevel: 'verbose' }, 'logLevel: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent" (got "verbose")'],
    ['relative log file', { ...base, logFile: 'twill.log' }, 'logFile: must be an absolute path (got "twill.log")'],
    ['unknown datastore', { ...base, datastore: 'etcd' }, 'datastore: must be one of "sqlite", "kubernetes" (got "etcd")'],
    ['relative dataDir', { ...base, dataDir: 'data' }, 'dataDir: must be an absolute path (got "data")'],
    ['no ipam', { ...base, ipam: undefined }, 'ipam: missing: give {"type": "twill-ipam", "pools": [...]} (twill pools) or another IPAM plugin\'s section'],
    ['ipam not an object', { ...base, ipam: 'pools' }, 'ipam: must be an object (got string)'],
    ['ipam without type', { ...base, ipam: { pools: [] } }, 'ipam.type: must be a string (got undefined)'],
    ['empty ipam type', { ...base, ipam: { type: '' } }, 'ipam.type: must not be empty'],
    ['ipam type a path', { ...base, ipam: { type: '../bin/x' } }, 'ipam.type: must be a plugin name, not a path (got "../bin/x")'],
    ['ipam.dataDir in-process', { ...base, ipam: { ...base.ipam, dataDir: '/x' } }, "ipam.dataDir: not used with pools in-process: they live in the plugin's datastore (set dataDir at the top level)"],
    ['a bad pool', { ...base, ipam: { type: 'twill-ipam', pools: [{ cidr: '10.244.0.0/33' }] } }, 'ipam.pools[0].cidr'],
  ];

  it.each(corpus)('%s: code 7 naming the field', (_what, config, message) => {
    const error = failure(config);
    expect(error.code).toBe(7);
    expect(error.msg.startsWith(message)).toBe(true);
  });
});
