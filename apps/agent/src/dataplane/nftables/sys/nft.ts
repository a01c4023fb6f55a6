// The one place the nftables driver runs `nft`: always with an argument array (no
// shell), the script on standard input, inside the driver's namespace through
// `ip netns exec` when one is set. Small transactions go through one long-lived `nft -i`
// (nft-session.ts), large ones (the first, full apply) through `nft -f -`.

import { spawn } from 'node:child_process';

import { NFTABLES_ERROR_CODE, NftablesDataplaneError } from '../errors.js';
import { fitsSession, NftSession } from './nft-session.js';

/** What the driver needs of `nft`. */
export interface NftPort {
  /** Applies a script atomically (`nft -f -`). @throws {NftablesDataplaneError} `nft-failed`. */
  apply(script: string): Promise<void>;
  /** Checks a script without applying it (`nft -c -f -`). @throws {NftablesDataplaneError} `nft-failed`. */
  check(script: string): Promise<void>;
  /**
   * `nft -j list table <family> <name>`, parsed; `undefined` when the table does not exist.
   * @throws {NftablesDataplaneError} `nft-failed` or `bad-listing`.
   */
  listTable(family: string, name: string): Promise<unknown>;
  /** Ends any long-lived `nft` process the port keeps (a later call starts another). */
  close?(): void;
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(netns: string | undefined, args: readonly string[], input: string): Promise<Run> {
  const [file, argv] = netns === undefined ? ['nft', [...args]] : ['ip', ['netns', 'exec', netns, 'nft', ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (error) => reject(new NftablesDataplaneError(NFTABLES_ERROR_CODE.NFT_FAILED, `cannot run ${file}: ${error.message}`, { cause: error })));
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

function failed(what: string, result: Run): NftablesDataplaneError {
  return new NftablesDataplaneError(NFTABLES_ERROR_CODE.NFT_FAILED, `${what} failed (exit ${result.code}): ${result.stderr.trim().slice(0, 4000)}`);
}

/**
 * The `nft` program (Debian's nftables), in `netns` when given. Needs root (CAP_NET_ADMIN).
 * With `session` (the default), scripts of up to 256 KiB go through one long-lived
 * `nft -i`, each still one atomic transaction; `close()` ends it.
 */
export function createNftPort(options: { readonly netns?: string; readonly session?: boolean } = {}): NftPort {
  const { netns } = options;
  const session = options.session === false ? undefined : new NftSession(netns);
  return {
    async apply(script) {
      if (session !== undefined && fitsSession(script)) return session.apply(script);
      const result = await run(netns, ['-f', '-'], script);
      if (result.code !== 0) throw failed('nft -f -', result);
    },
    async check(script) {
      const result = await run(netns, ['-c', '-f', '-'], script);
      if (result.code !== 0) throw failed('nft -c -f -', result);
    },
    async listTable(family, name) {
      const result = await run(netns, ['-j', 'list', 'table', family, name], '');
      if (result.code !== 0) {
        if (/No such file or directory/.test(result.stderr)) return undefined;
        throw failed('nft -j list table', result);
      }
      try {
        return JSON.parse(result.stdout) as unknown;
      } catch (error) {
        throw new NftablesDataplaneError(NFTABLES_ERROR_CODE.BAD_LISTING, `nft -j printed no JSON: ${result.stdout.slice(0, 200)}`, { cause: error });
      }
    },
    close() {
      session?.close();
    },
  };
}
