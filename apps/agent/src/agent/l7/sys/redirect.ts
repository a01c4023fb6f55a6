// The L7 redirect in the kernel (issue 14): the nftables table of ../redirect.ts, plus the
// policy routing that delivers its marked packets to the local stack (where the proxy's
// transparent sockets take them): `ip rule add fwmark MARK/MASK lookup TABLE pref P` and
// `ip route add local default dev lo table TABLE`, for IPv4 and IPv6 (IPv4 only on a node
// without IPv6: `families: [4]`).
import { NetError, type RouteOptions, type Rule, type RuleSpec, withNetlink } from '@twill/cni-core/net';

import { createNftPort, type NftPort } from '../../../dataplane/nftables/sys/nft.js';
import {
  L7_REDIRECT_DEFAULTS,
  L7RedirectError,
  type L7RedirectFamilies,
  type L7RedirectSets,
  compileL7RedirectSets,
  countL7RedirectSets,
  decodeL7RedirectListing,
  errorText,
  hex,
  renderL7RedirectDelta,
  renderL7RedirectRemoval,
  renderL7RedirectSets,
  resolveL7RedirectOptions,
} from '../redirect.js';
import { type L7RedirectTargets, NO_L7_TARGETS } from '../redirect-targets.js';

/** Options of {@link L7Redirect}; every one has a default ({@link L7_REDIRECT_DEFAULTS}). */
export interface L7RedirectKernelOptions {
  /** The network namespace, by name under /run/netns; default the agent's own. */
  readonly netns?: string;
  /** The `inet` nftables table; default `twill_l7`. */
  readonly table?: string;
  /** The port of the proxy's transparent listener on the node; default 15001. */
  readonly proxyPort?: number;
  /** The mark of redirected packets, within `mask`; default 0x200. */
  readonly mark?: number;
  /** The mark bits the redirect owns; default 0xf00. */
  readonly mask?: number;
  /** The routing table holding the `local` default routes, 1 to 2^32-1 (not 253-255); default 2004. */
  readonly routeTable?: number;
  /** The preference of the `fwmark` rules, 1 to 32765 (before main's 32766); default 9. */
  readonly rulePriority?: number;
  /** `[4, 6]` (default), or `[4]` on a node without IPv6: no IPv6 rule, route or `ip6` tproxy rules. */
  readonly families?: L7RedirectFamilies;
  /** How nft is run; default {@link createNftPort} in `netns`. Closed by {@link L7Redirect.close} only when made here. */
  readonly nft?: NftPort;
}

/** What {@link L7Redirect.status} reports. */
export interface L7RedirectStatus {
  /** Whether the table, the `fwmark` rule and the `local` route of each family served are in the kernel now (read back). */
  readonly installed: boolean;
  /** What is missing from the kernel, in words (empty when `installed`, or before `start`). */
  readonly missing: readonly string[];
  /** How many set elements (address or interface, with one port range) the redirect holds. */
  readonly targets: { readonly ingress4: number; readonly ingress6: number; readonly egress: number };
  /** The last failure of `start` or `update` to change the kernel, in words; cleared by the next success. */
  readonly lastError?: string;
}

/**
 * Sends the TCP connections of {@link L7RedirectTargets} to the proxy's transparent
 * listener, keeping their original destination; leaves all other traffic alone.
 *
 * `start()` installs the routing then the table (a previous run's leftovers with the same
 * names are adopted, the targets its table holds kept until the first `update()`); `update()` changes only set elements, in one nft
 * transaction, so connections already with the proxy stay there; `close()` removes all of
 * it and may be called again. Fails closed: while the proxy does not listen, a new
 * connection to a target is reset by the node, never delivered past the proxy.
 *
 * Needs root (CAP_NET_ADMIN), `nft` (nftables 1.0), and a kernel with nft_tproxy,
 * nft_socket, concatenated interval sets (Linux 5.6) and nft `reject` at prerouting
 * (verified on 6.18).
 */
export class L7Redirect {
  readonly #netns: string | undefined;
  readonly #render: Required<Pick<L7RedirectKernelOptions, 'table' | 'proxyPort' | 'mark' | 'mask' | 'families'>>;
  readonly #routeTable: number;
  readonly #rulePriority: number;
  readonly #nft: NftPort;
  readonly #ownsNft: boolean;
  #sets: L7RedirectSets = compileL7RedirectSets(NO_L7_TARGETS);
  #started = false;
  // Whether update() gave targets before the first start(): then start() installs them
  // rather than keeping what a previous run left.
  #given = false;
  #lastError: string | undefined;
  // start, update and close run one at a time, in call order: each reads the model the previous one left.
  #queue: Promise<unknown> = Promise.resolve();

  /** @throws {L7RedirectError} `bad-option` naming the option. */
  constructor(options: L7RedirectKernelOptions = {}) {
    this.#render = resolveL7RedirectOptions(options);
    this.#routeTable = options.routeTable ?? L7_REDIRECT_DEFAULTS.routeTable;
    this.#rulePriority = options.rulePriority ?? L7_REDIRECT_DEFAULTS.rulePriority;
    if (!Number.isInteger(this.#routeTable) || this.#routeTable < 1 || this.#routeTable > 0xffffffff || (this.#routeTable >= 253 && this.#routeTable <= 255)) {
      throw new L7RedirectError('bad-option', `L7 redirect option routeTable ${this.#routeTable}: want 1 to 2^32-1, not default/main/local (253-255)`);
    }
    if (!Number.isInteger(this.#rulePriority) || this.#rulePriority < 1 || this.#rulePriority > 32765) {
      throw new L7RedirectError('bad-option', `L7 redirect option rulePriority ${this.#rulePriority}: want 1 to 32765 (before the main table's rule)`);
    }
    this.#netns = options.netns;
    this.#ownsNft = options.nft === undefined;
    // One `nft -f -` per change, no long-lived `nft -i`: targets change rarely, and close()
    // leaves no process behind.
    this.#nft = options.nft ?? createNftPort({ ...(this.#netns === undefined ? {} : { netns: this.#netns }), session: false });
  }

  /**
   * Installs the routing, then the table with the targets given so far. Leftovers with the
   * same names are adopted: rules and routes, and the table's targets when no `update`
   * came before the first `start` (a previous run's redirect, kept on its stop, keeps
   * redirecting until the next `update` changes it); the chain is written anew.
   * @throws {L7RedirectError} `apply-failed` with the netlink or nft error as `cause`.
   */
  start(): Promise<void> {
    return this.#serial(() => this.#start());
  }

  async #start(): Promise<void> {
    await this.#step('start', async () => {
      await withNetlink(this.#netns, async (nl) => {
        for (const family of this.#render.families) {
          await nl.replaceRoute(this.#localRoute(family));
          const rule = this.#rule(family);
          if (!hasRule(await nl.listRules({ family }), rule)) await nl.addRule(rule);
        }
      });
      if (!this.#started && !this.#given) {
        // What the kernel holds is kept: the whole table is written again with its own
        // elements in one transaction, so there is no moment without them.
        const kept = decodeL7RedirectListing(await this.#nft.listTable('inet', this.#render.table));
        if (kept !== undefined) this.#sets = kept;
      }
      await this.#nft.apply(renderL7RedirectSets(this.#sets, this.#render));
      this.#started = true;
    });
  }

  /**
   * Redirects `targets` from now on. Before `start`, only remembers them. After, applies the
   * difference to the sets in one transaction; if the kernel's sets no longer match (an
   * operator changed them), replaces the table instead, which keeps held connections too.
   * @throws {L7RedirectError} `bad-target` (nothing changed), `apply-failed`.
   */
  update(targets: L7RedirectTargets): Promise<void> {
    let next: L7RedirectSets;
    try {
      // Bad targets are refused at once, before waiting for anything.
      next = compileL7RedirectSets(targets);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.#serial(() => this.#update(next));
  }

  async #update(next: L7RedirectSets): Promise<void> {
    if (!this.#started) {
      this.#sets = next;
      this.#given = true;
      return;
    }
    await this.#step('update', async () => {
      const delta = renderL7RedirectDelta(this.#sets, next, this.#render);
      if (delta !== '') {
        try {
          await this.#nft.apply(delta);
        } catch {
          await this.#nft.apply(renderL7RedirectSets(next, this.#render));
        }
      }
      this.#sets = next;
    });
  }

  /** What is installed now (read back from the kernel), the targets' counts, and the last failure. */
  async status(): Promise<L7RedirectStatus> {
    const missing: string[] = [];
    if (this.#started) {
      if ((await this.#nft.listTable('inet', this.#render.table)) === undefined) missing.push(`nft table inet ${this.#render.table}`);
      await withNetlink(this.#netns, async (nl) => {
        for (const family of this.#render.families) {
          const rule = this.#rule(family);
          if (!hasRule(await nl.listRules({ family }), rule)) {
            missing.push(`ipv${family} rule fwmark ${hex(rule.fwmark)}/${hex(rule.fwmask)} lookup ${rule.table} pref ${rule.priority}`);
          }
          if (!(await nl.listRoutes({ family, table: this.#routeTable })).some((r) => r.type === 'local' && r.dst === (family === 4 ? '0.0.0.0/0' : '::/0'))) {
            missing.push(`ipv${family} route local default dev lo table ${this.#routeTable}`);
          }
        }
      });
    }
    return {
      installed: this.#started && missing.length === 0,
      missing,
      targets: countL7RedirectSets(this.#sets),
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError }),
    };
  }

  /**
   * Removes the table, then the rules and routes (those of this redirect's numbers), whether
   * or not `start` ran or finished; calling it again does nothing more.
   * @throws {L7RedirectError} `apply-failed` when something that exists cannot be removed.
   */
  close(): Promise<void> {
    return this.#serial(() => this.#close());
  }

  async #close(): Promise<void> {
    try {
      // Only a table that is there is removed: closing a redirect that never ran changes no ruleset.
      if ((await this.#nft.listTable('inet', this.#render.table)) !== undefined) await this.#nft.apply(renderL7RedirectRemoval(this.#render));
      await withNetlink(this.#netns, async (nl) => {
        for (const family of this.#render.families) {
          await ignoring(['ENOENT'], () => nl.deleteRule(this.#rule(family)));
          // ESRCH for IPv4, ENOENT for IPv6 when the route is not there.
          await ignoring(['ESRCH', 'ENOENT'], () => nl.deleteRoute(this.#localRoute(family)));
        }
      });
    } catch (error) {
      throw new L7RedirectError('apply-failed', `L7 redirect close: ${errorText(error)}`, { cause: error });
    } finally {
      this.#started = false;
      if (this.#ownsNft) this.#nft.close?.();
    }
  }

  #rule(family: 4 | 6): RuleSpec & { fwmask: number } {
    return { family, fwmark: this.#render.mark, fwmask: this.#render.mask, table: this.#routeTable, priority: this.#rulePriority };
  }

  #localRoute(family: 4 | 6): RouteOptions {
    return { type: 'local', dst: 'default', family, link: 'lo', table: this.#routeTable };
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #step(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
      this.#lastError = undefined;
    } catch (error) {
      if (error instanceof L7RedirectError) {
        this.#lastError = error.message;
        throw error;
      }
      this.#lastError = `L7 redirect ${what}: ${errorText(error)}`;
      throw new L7RedirectError('apply-failed', this.#lastError, { cause: error });
    }
  }
}

/**
 * Whether `rules` hold `rule` exactly: same preference, `lookup` of the same table, same
 * mark and mask, not inverted, and no other selector (source, destination, interfaces).
 * A look-alike (`not fwmark`, an `iif`-scoped one) is not the redirect's and is not adopted.
 */
function hasRule(rules: readonly Rule[], rule: RuleSpec & { fwmask: number }): boolean {
  return rules.some(
    (r) =>
      r.priority === rule.priority
      && r.action === 'lookup'
      && r.table === rule.table
      && r.fwmark === rule.fwmark
      && r.fwmask === rule.fwmask
      && !r.invert
      && r.src === undefined
      && r.dst === undefined
      && r.iifname === undefined
      && r.oifname === undefined,
  );
}

async function ignoring(codes: readonly string[], fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    if (!(error instanceof NetError && codes.includes(error.code))) throw error;
  }
}
