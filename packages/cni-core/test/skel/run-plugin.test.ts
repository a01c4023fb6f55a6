// runPlugin end to end, with the environment, stdin and output injected.
import { describe, expect, it } from 'vitest';

import { CniError } from '../../src/errors.js';
import { type AddRequest, type DelRequest, type GcRequest } from '../../src/skel/types.js';
import { ADD_ENV, config, invoke, recordingHandlers } from './harness.js';

const prevResult = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'eth0', sandbox: '/var/run/netns/blue' }],
  ips: [{ address: '10.1.0.5/16', interface: 0 }],
};

describe('runPlugin: ADD', () => {
  it('prints the result converted to the requested version, and nothing else', async () => {
    const handlers = recordingHandlers();
    const out = await invoke(ADD_ENV, config('0.4.0', { bridge: 'cni0', 'cni.dev/custom': [1] }), handlers);
    expect(out.exitCode).toBe(0);
    expect(out.json).toEqual({
      cniVersion: '0.4.0',
      interfaces: [{ name: 'eth0', mac: '99:88:77:66:55:44', sandbox: '/var/run/netns/blue' }],
      ips: [{ version: '4', interface: 0, address: '10.1.0.5/16', gateway: '10.1.0.1' }],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: { nameservers: ['10.1.0.1'] },
    });
    const request = handlers.calls[0] as AddRequest;
    expect(request).toMatchObject({ cniVersion: '0.4.0', containerId: '3f6940ab5ab4', ifName: 'eth0', netns: '/var/run/netns/blue' });
    expect(request.path).toEqual(['/opt/cni/bin', '/usr/lib/cni']);
    // Unknown keys are kept verbatim.
    expect(request.config.raw['bridge']).toBe('cni0');
    expect(request.config.raw['cni.dev/custom']).toEqual([1]);
  });

  it('hands the plugin its decoded prevResult, runtimeConfig and CNI_ARGS', async () => {
    const handlers = recordingHandlers();
    const out = await invoke(
      { ...ADD_ENV, CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web-0;K8S_POD_NAMESPACE=default' },
      config('1.0.0', { prevResult, runtimeConfig: { mac: '00:11:22:33:44:66' } }),
      handlers,
    );
    expect(out.exitCode).toBe(0);
    const request = handlers.calls[0] as AddRequest;
    expect(request.config.prevResult).toEqual(prevResult);
    expect(request.config.runtimeConfig).toEqual({ mac: '00:11:22:33:44:66' });
    expect(request.args.pairs.get('K8S_POD_NAME')).toBe('web-0');
    expect(request.args.ignoreUnknown).toBe(true);
  });

  it('drops what 0.2.0 cannot express only when the plugin allows a lossy result', async () => {
    const strict = await invoke(ADD_ENV, config('0.2.0'));
    expect(strict.exitCode).toBe(1);
    expect(strict.json).toMatchObject({ cniVersion: '0.2.0', code: 1 });
    expect(strict.json?.['msg']).toBe('cannot convert result from 1.1.0 to 0.2.0 without losing interfaces[0], ips[0].interface');

    const lossy = await invoke(ADD_ENV, config('0.2.0'), recordingHandlers({ allowLossyResult: true }));
    expect(lossy.exitCode).toBe(0);
    expect(lossy.json).toEqual({
      cniVersion: '0.2.0',
      ip4: { ip: '10.1.0.5/16', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0' }] },
      dns: { nameservers: ['10.1.0.1'] },
    });
  });

  it('reports an invalid result from the plugin as an internal error, not as a result', async () => {
    const out = await invoke(ADD_ENV, config(), recordingHandlers({ add: () => ({ cniVersion: '1.1.0', ips: [{ address: '10.1/33' }] }) }));
    expect(out.json).toEqual({
      cniVersion: '1.1.0',
      code: 999,
      msg: 'plugin returned an invalid result',
      details: 'ips[0].address: invalid CIDR "10.1/33"',
    });
  });
});

describe('runPlugin: DEL, CHECK, GC, STATUS', () => {
  it('DEL without CNI_NETNS succeeds with empty stdout', async () => {
    const handlers = recordingHandlers();
    const out = await invoke({ ...ADD_ENV, CNI_COMMAND: 'DEL', CNI_NETNS: undefined }, config('1.0.0', { prevResult }), handlers);
    expect(out).toMatchObject({ exitCode: 0, stdout: '' });
    const request = handlers.calls[0] as DelRequest;
    expect(request.netns).toBeUndefined();
    expect(request.config.prevResult?.cniVersion).toBe('1.0.0');
  });

  it('CHECK passes prevResult and prints nothing', async () => {
    const handlers = recordingHandlers();
    const out = await invoke({ ...ADD_ENV, CNI_COMMAND: 'CHECK' }, config('0.4.0', { prevResult: { ...prevResult, cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.0.5/16' }] } }), handlers);
    expect(out).toMatchObject({ exitCode: 0, stdout: '' });
    expect(handlers.calls).toHaveLength(1);
  });

  it('a CHECK failure is printed with the plugin code', async () => {
    const out = await invoke(
      { ...ADD_ENV, CNI_COMMAND: 'CHECK' },
      config('1.1.0'),
      recordingHandlers({ check: () => { throw new CniError(110, 'eth0 is missing', 'link eth0 not found in /var/run/netns/blue'); } }),
    );
    expect(out.exitCode).toBe(1);
    expect(out.json).toEqual({ cniVersion: '1.1.0', code: 110, msg: 'eth0 is missing', details: 'link eth0 not found in /var/run/netns/blue' });
  });

  it('GC hands over cni.dev/valid-attachments', async () => {
    const handlers = recordingHandlers();
    const attachments = [{ containerID: 'abc', ifname: 'eth0' }];
    const out = await invoke({ CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' }, config('1.1.0', { 'cni.dev/valid-attachments': attachments }), handlers);
    expect(out).toMatchObject({ exitCode: 0, stdout: '' });
    expect((handlers.calls[0] as GcRequest).validAttachments).toEqual(attachments);
  });

  it('STATUS succeeds without a handler and reports 50 from one', async () => {
    expect(await invoke({ CNI_COMMAND: 'STATUS' }, config('1.1.0'))).toMatchObject({ exitCode: 0, stdout: '' });
    const out = await invoke(
      { CNI_COMMAND: 'STATUS' },
      config('1.1.0'),
      recordingHandlers({ status: () => { throw new CniError(50, 'plugin not available', 'agent socket /run/twill/agent.sock not answering'); } }),
    );
    expect(out.exitCode).toBe(1);
    expect(out.json).toMatchObject({ code: 50, msg: 'plugin not available' });
  });
});

describe('runPlugin: VERSION', () => {
  it('answers with the input cniVersion and the supported versions', async () => {
    const out = await invoke({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}', recordingHandlers({ supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] }));
    expect(out.exitCode).toBe(0);
    expect(out.json).toEqual({ cniVersion: '0.4.0', supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] });
  });

  it('answers with the newest version when stdin says nothing useful', async () => {
    for (const stdin of ['', 'not json', '{"cniVersion": 7}']) {
      const out = await invoke({ CNI_COMMAND: 'VERSION' }, stdin);
      expect(out.json).toEqual({ cniVersion: '1.1.0', supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
    }
  });
});

describe('runPlugin: failures', () => {
  it('turns an unexpected exception into code 999 with the trace on stderr only', async () => {
    const out = await invoke(ADD_ENV, config('1.0.0'), recordingHandlers({ add: () => { throw new TypeError('cannot read properties of undefined\nsecond line'); } }));
    expect(out.exitCode).toBe(1);
    expect(out.json).toEqual({ cniVersion: '1.0.0', code: 999, msg: 'internal error', details: 'cannot read properties of undefined' });
    expect(out.stderr).toContain('TypeError');
    expect(out.stderr).toMatch(/\n\s+at /);
  });

  it('handles a thrown non-Error and a handler returning nothing', async () => {
    const thrown = await invoke(ADD_ENV, config(), recordingHandlers({ add: () => { throw 'just a string'; } }));
    expect(thrown.json).toMatchObject({ code: 999, details: 'just a string' });
    const nothing = await invoke(ADD_ENV, config(), recordingHandlers({ add: () => undefined as never }));
    expect(nothing.json).toMatchObject({ code: 999, msg: 'plugin returned no result from ADD' });
  });

  it('reads a chunked stream, and stops reading past the cap', async () => {
    let pulled = 0;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield new TextEncoder().encode(' '.repeat(1024));
      }
    }
    const out = await invoke(ADD_ENV, chunks(), recordingHandlers({ maxStdinBytes: 4096 }));
    expect(out.json).toEqual({ cniVersion: '1.1.0', code: 5, msg: 'stdin: network configuration is larger than 4096 bytes' });
    expect(pulled).toBe(5);

    async function* split(): AsyncGenerator<string> {
      const text = config('1.0.0');
      yield text.slice(0, 10);
      yield text.slice(10);
    }
    expect((await invoke(ADD_ENV, split())).exitCode).toBe(0);
  });

  it('reports a failing stream as an I/O error', async () => {
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array([0x7b]);
      throw new Error('EIO: i/o error, read');
    }
    const out = await invoke(ADD_ENV, broken());
    expect(out.json).toEqual({ cniVersion: '1.1.0', code: 5, msg: 'stdin: read failed', details: 'EIO: i/o error, read' });
  });
});
