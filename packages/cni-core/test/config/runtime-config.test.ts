import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  buildPluginStdin,
  decodeNetworkConfig,
  decodeNetworkConfigList,
  selectRuntimeConfig,
  type NetworkConfigList,
  type ListPluginConfig,
} from '../../src/config/index.js';

const dbnet = decodeNetworkConfigList(
  readFileSync(join(import.meta.dirname, 'fixtures', 'golden', 'spec-1.1-dbnet', 'input.conflist')),
);
const [bridge, tuning, portmap] = dbnet.plugins as [ListPluginConfig, ListPluginConfig, ListPluginConfig];

const capabilityArgs = {
  mac: '00:11:22:33:44:66',
  portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
  bandwidth: { ingressRate: 1000 },
};

function stdin(list: NetworkConfigList, plugin: ListPluginConfig, invocation = {}): unknown {
  return JSON.parse(new TextDecoder().decode(buildPluginStdin(list, plugin, invocation)));
}

describe('runtimeConfig: only declared capabilities', () => {
  it('gives each plugin of the spec example only what it declares', () => {
    // CNI SPEC, appendix "Add example": tuning gets the mac, portmap the port mappings.
    expect(stdin(dbnet, bridge, { capabilityArgs })).not.toHaveProperty('runtimeConfig');
    expect(stdin(dbnet, tuning, { capabilityArgs })).toMatchObject({ runtimeConfig: { mac: '00:11:22:33:44:66' } });
    expect((stdin(dbnet, tuning, { capabilityArgs }) as { runtimeConfig: object }).runtimeConfig).toEqual({ mac: '00:11:22:33:44:66' });
    expect((stdin(dbnet, portmap, { capabilityArgs }) as { runtimeConfig: object }).runtimeConfig).toEqual({
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
    });
  });

  it('never passes a capability declared false', () => {
    const list = decodeNetworkConfigList(JSON.stringify({
      cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'portmap', capabilities: { portMappings: false, ips: true } }],
    }));
    const plugin = list.plugins[0] as ListPluginConfig;
    expect(selectRuntimeConfig(plugin, { portMappings: [], ips: ['10.0.0.2/24'] })).toEqual({ ips: ['10.0.0.2/24'] });
  });

  it('keeps a runtimeConfig written in the file when there is nothing to pass, and replaces it otherwise (as libcni)', () => {
    const list = decodeNetworkConfigList(JSON.stringify({
      cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'x', capabilities: { mac: true }, runtimeConfig: { mac: 'file' } }],
    }));
    const plugin = list.plugins[0] as ListPluginConfig;
    expect(stdin(list, plugin)).toMatchObject({ runtimeConfig: { mac: 'file' } });
    expect(stdin(list, plugin, { capabilityArgs: { mac: 'rt' } })).toMatchObject({ runtimeConfig: { mac: 'rt' } });
  });
});

describe('building a plugin stdin config', () => {
  it('injects the list name and chosen version over the plugin own ones', () => {
    const list = decodeNetworkConfigList(JSON.stringify({
      cniVersion: '1.0.0', cniVersions: ['0.4.0', '1.1.0', '9.0.0'], name: 'outer',
      plugins: [{ type: 'x', name: 'inner', cniVersion: '0.3.1' }],
    }));
    expect(list.cniVersion).toBe('1.1.0');
    expect(stdin(list, list.plugins[0] as ListPluginConfig)).toEqual({ type: 'x', name: 'outer', cniVersion: '1.1.0' });
  });

  it('adds prevResult only when given', () => {
    const prevResult = { cniVersion: '1.1.0', ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1' }] };
    expect(stdin(dbnet, bridge)).not.toHaveProperty('prevResult');
    expect(stdin(dbnet, bridge, { prevResult: null })).not.toHaveProperty('prevResult');
    expect(stdin(dbnet, tuning, { prevResult })).toMatchObject({ prevResult });
  });

  it('passes args as written, or the runtime args when given', () => {
    const list = decodeNetworkConfig('{"cniVersion":"0.4.0","name":"n","type":"x","args":{"cni":{"labels":[{"key":"a","value":"1"}]}}}');
    const plugin = list.plugins[0] as ListPluginConfig;
    expect(stdin(list, plugin)).toMatchObject({ args: { cni: { labels: [{ key: 'a', value: '1' }] } } });
    expect(stdin(list, plugin, { args: { cni: { ips: ['10.0.0.9'] } } })).toMatchObject({ args: { cni: { ips: ['10.0.0.9'] } } });
  });

  it('keeps capabilities as libcni does, or strips them as SPEC §3 asks', () => {
    expect(stdin(dbnet, portmap)).toHaveProperty('capabilities');
    expect(stdin(dbnet, portmap, { stripCapabilities: true })).not.toHaveProperty('capabilities');
  });

  it('sets extra keys such as cni.dev/valid-attachments, but never name or cniVersion', () => {
    const attachments = [{ containerID: 'c1', ifname: 'eth0' }];
    expect(stdin(dbnet, bridge, { extra: { 'cni.dev/valid-attachments': attachments } })).toMatchObject({
      'cni.dev/valid-attachments': attachments,
    });
    expect(() => buildPluginStdin(dbnet, bridge, { extra: { name: 'other' } })).toThrow(expect.objectContaining({ code: 7 }));
  });

  it('refuses values that JSON cannot carry, naming where they are', () => {
    expect(() => buildPluginStdin(dbnet, portmap, { capabilityArgs: { portMappings: [{ hostPort: Number.NaN }] } }))
      .toThrow(expect.objectContaining({ code: 7, msg: 'runtimeConfig.portMappings[0].hostPort: not representable in JSON (NaN)' }));
  });
});

describe('unknown keys are preserved verbatim', () => {
  const text = '{"cniVersion":"1.1.0","name":"n","plugins":[{"type":"x","big":12345678901234567890,"exact":1.0,' +
    '"neg":-0,"exp":1E+400,"__proto__":{"polluted":true},"nested":{"z":1,"a":[true,null,"\\u00e9"]},"1":"one"}]}';
  const list = decodeNetworkConfigList(text);
  const plugin = list.plugins[0] as ListPluginConfig;

  it('writes every value byte for byte, in the same key order', () => {
    const out = new TextDecoder().decode(buildPluginStdin(list, plugin));
    expect(out).toBe(
      '{"type":"x","big":12345678901234567890,"exact":1.0,"neg":-0,"exp":1E+400,"__proto__":{"polluted":true},' +
      '"nested":{"z":1,"a":[true,null,"é"]},"1":"one","cniVersion":"1.1.0","name":"n"}',
    );
  });

  it('keeps __proto__ as data in the plain view, without touching prototypes', () => {
    expect(Object.hasOwn(plugin.value, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
