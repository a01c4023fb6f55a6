// A long-lived `nft -i` (interactive mode) for small transactions. Under load a fork and
// exec of `ip netns exec … nft -f -` costs tens to hundreds of milliseconds of waiting per
// apply; writing one line to a running `nft` costs a netlink round trip.
//
// Atomicity: `nft -i` hands each input line to libnftables as one buffer, which it
// commits as one batch (all or nothing), exactly like `nft -f -` does with a file. So a
// script becomes one line, its commands joined with `;`.
//
// Completion: nft prints nothing on success, so each transaction line is followed by a
// marker line that always fails (deleting a table that does not exist, named with a
// sequence number). nft reports errors on stderr in input order: whatever stderr holds
// before the marker's own error belongs to the transaction (empty: committed).

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { type Socket } from 'node:net';

import { NFTABLES_ERROR_CODE, NftablesDataplaneError } from '../errors.js';

interface Pending {
  readonly marker: string;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** The longest script sent through the session; longer ones go through `nft -f -` (no line-length doubts). */
export const NFT_SESSION_MAX_SCRIPT = 256 * 1024;

/** Whether a script can go through the session as one line (no comments, not too long). */
export function fitsSession(script: string): boolean {
  return script.length <= NFT_SESSION_MAX_SCRIPT && !script.includes('#');
}

/** One `nft -i` process (in `netns` through `ip netns exec` when given), started on first use. */
export class NftSession {
  readonly #netns: string | undefined;
  readonly #tag = `twsync${process.pid.toString(36)}x`;
  #child: ChildProcessWithoutNullStreams | undefined;
  #stderr = '';
  #sequence = 0;
  readonly #pending: Pending[] = [];

  constructor(netns: string | undefined) {
    this.#netns = netns;
  }

  /**
   * Applies `script` (newline-separated nft commands, see {@link fitsSession}) as one transaction.
   * @throws {NftablesDataplaneError} `nft-failed` with nft's error output, or when the session dies.
   */
  apply(script: string): Promise<void> {
    const child = this.#start();
    this.#sequence += 1;
    const marker = `delete table netdev ${this.#tag}${this.#sequence}`;
    const line = script.split('\n').filter((l) => l.trim() !== '').join('; ');
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ marker, resolve, reject });
      this.#ref(true);
      child.stdin.write(`${line}\n${marker}\n`);
    });
  }

  /** Ends the process (pending transactions fail). */
  close(): void {
    const child = this.#child;
    this.#child = undefined;
    if (child !== undefined) {
      child.stdin.end();
      child.kill();
    }
    this.#fail(new NftablesDataplaneError(NFTABLES_ERROR_CODE.NFT_FAILED, 'nft -i session closed'));
  }

  #start(): ChildProcessWithoutNullStreams {
    if (this.#child !== undefined) return this.#child;
    const [file, argv] = this.#netns === undefined ? ['nft', ['-i']] : ['ip', ['netns', 'exec', this.#netns, 'nft', '-i']];
    const child = spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child = child;
    this.#stderr = '';
    child.stdout.resume();
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      this.#stderr += text;
      this.#settle();
    });
    child.stdin.on('error', () => undefined);
    const gone = (why: string): void => {
      if (this.#child === child) this.#child = undefined;
      this.#fail(new NftablesDataplaneError(NFTABLES_ERROR_CODE.NFT_FAILED, `nft -i ${why}`));
    };
    child.on('error', (error) => gone(`cannot run ${file}: ${error.message}`));
    child.on('exit', (code, signal) => gone(`exited (${signal ?? `code ${code}`})`));
    this.#ref(false);
    return child;
  }

  // Resolves every transaction whose marker's error (its echoed command line and the caret line under it) has arrived.
  #settle(): void {
    for (;;) {
      const head = this.#pending[0];
      if (head === undefined) return;
      const at = this.#stderr.indexOf(`\n${head.marker}\n`);
      if (at < 0) return;
      const caretEnd = this.#stderr.indexOf('\n', at + head.marker.length + 2);
      if (caretEnd < 0) return;
      // The line before the marker's command is the marker's own `Error: …` line.
      const before = this.#stderr.slice(0, at);
      const output = before.slice(0, before.lastIndexOf('\n') + 1).trim();
      this.#stderr = this.#stderr.slice(caretEnd + 1);
      this.#pending.shift();
      if (output === '') head.resolve();
      else head.reject(new NftablesDataplaneError(NFTABLES_ERROR_CODE.NFT_FAILED, `nft -i transaction failed: ${output.slice(0, 4000)}`));
      if (this.#pending.length === 0) this.#ref(false);
    }
  }

  #fail(error: Error): void {
    for (const pending of this.#pending.splice(0)) pending.reject(error);
  }

  // An idle session does not keep the process alive; one with a transaction in flight does.
  #ref(on: boolean): void {
    const child = this.#child;
    if (child === undefined) return;
    // A child's pipes are sockets (Node's documented `stdio: 'pipe'`), which can be unreferenced.
    for (const handle of [child, ...[child.stdin, child.stderr, child.stdout].map((pipe) => pipe as unknown as Socket)]) {
      if (on) handle.ref();
      else handle.unref();
    }
  }
}
