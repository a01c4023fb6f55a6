// The driver's kernel settings outside nftables: sysctls of its network namespace, read
// and written with procps' `sysctl` (inside the namespace through `ip netns exec`, since
// /proc/sys/net shows the namespace of the process that reads it).

import { spawn } from 'node:child_process';

import { NFTABLES_ERROR_CODE, NftablesDataplaneError } from '../errors.js';

/** What the driver needs of sysctl. */
export interface SysctlPort {
  /** The value of `name` (`net.netfilter.nf_conntrack_checksum`), or undefined when the kernel has no such key. */
  read(name: string): Promise<string | undefined>;
  /** Sets `name` to `value`. @throws {NftablesDataplaneError} `sysctl-failed`. */
  write(name: string, value: string): Promise<void>;
}

function run(netns: string | undefined, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [file, argv] = netns === undefined ? ['sysctl', [...args]] : ['ip', ['netns', 'exec', netns, 'sysctl', ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (error) => reject(new NftablesDataplaneError(NFTABLES_ERROR_CODE.SYSCTL_FAILED, `cannot run ${file}: ${error.message}`, { cause: error })));
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

/** procps' `sysctl`, in `netns` when given. Writing needs root. */
export function createSysctlPort(options: { readonly netns?: string } = {}): SysctlPort {
  const { netns } = options;
  return {
    async read(name) {
      const result = await run(netns, ['-n', name]);
      if (result.code !== 0) return undefined;
      return result.stdout.trim();
    },
    async write(name, value) {
      const result = await run(netns, ['-q', '-w', `${name}=${value}`]);
      if (result.code !== 0) throw new NftablesDataplaneError(NFTABLES_ERROR_CODE.SYSCTL_FAILED, `sysctl -w ${name}=${value}${netns === undefined ? '' : ` in ${netns}`} failed (exit ${result.code}): ${result.stderr.trim()}`);
    },
  };
}
