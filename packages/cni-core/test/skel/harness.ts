// Runs runPlugin with an injected environment, stdin and output streams.
import { expect } from 'vitest';

import { runPlugin } from '../../src/skel/run-plugin.js';
import { type PluginInput } from '../../src/skel/stdin.js';
import { type PluginHandlers } from '../../src/skel/types.js';

/** The outcome of one invocation, as a runtime would see it. */
export interface Outcome {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed (undefined when empty); the test fails when stdout is not one JSON document. */
  readonly json: Record<string, unknown> | undefined;
}

/** A valid ADD environment. */
export const ADD_ENV = Object.freeze({
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: '3f6940ab5ab4',
  CNI_NETNS: '/var/run/netns/blue',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
});

/** A valid config for `version`. */
export function config(version = '1.1.0', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ cniVersion: version, name: 'dbnet', type: 'twill', ...extra });
}

/** Handlers that record their requests and return a fixed 1.0.0-expressible result. */
export function recordingHandlers(overrides: Partial<PluginHandlers> = {}): PluginHandlers & { calls: unknown[] } {
  const calls: unknown[] = [];
  return {
    calls,
    add(request) {
      calls.push(request);
      return {
        cniVersion: '1.1.0',
        interfaces: [{ name: request.ifName, mac: '99:88:77:66:55:44', sandbox: request.netns }],
        ips: [{ address: '10.1.0.5/16', gateway: '10.1.0.1', interface: 0 }],
        routes: [{ dst: '0.0.0.0/0' }],
        dns: { nameservers: ['10.1.0.1'] },
      };
    },
    del(request) {
      calls.push(request);
    },
    check(request) {
      calls.push(request);
    },
    gc(request) {
      calls.push(request);
    },
    ...overrides,
  };
}

/** Invokes the plugin and checks the protocol invariants every invocation must keep. */
export async function invoke(
  env: Record<string, string | undefined>,
  stdin: PluginInput,
  handlers: PluginHandlers = recordingHandlers(),
): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const exitCode = await runPlugin(
    { env, stdin, stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } },
    handlers,
  );
  const json = stdout === '' ? undefined : (JSON.parse(stdout) as Record<string, unknown>);
  if (exitCode !== 0) {
    // SPEC.md §"Error": a failure prints the error document, and only that.
    expect(json).toBeDefined();
    expect(Object.keys(json ?? {}).every((k) => ['cniVersion', 'code', 'msg', 'details'].includes(k))).toBe(true);
    expect(typeof json?.['code']).toBe('number');
    expect(stdout).not.toMatch(/\n\s+at /);
  }
  return { exitCode, stdout, stderr, json };
}
