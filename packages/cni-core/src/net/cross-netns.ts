// The operations that span two namespaces: a veth pair with its ends in different
// namespaces, and moving a link from one to another. Each leaves nothing half done.
import { type NetnsHandle, type NetnsRef, NetnsHandle as NetnsHandleClass, openNetns } from '@twill/sys';

import { NetError } from './errors.js';
import { type Link, type LinkRef, createVethLink, deleteLinkByIndex, describeLink, getLink, moveLinkToNetns } from './link.js';
import { RtConnection } from './rtnl.js';

/** Options for {@link Netlink.createVeth}. */
export interface CreateVethOptions {
  /** The name of the end created in this handle's namespace (at most 15 bytes). */
  name: string;
  /** MTU of both ends, in bytes, unless `peer.mtu` says otherwise. */
  mtu?: number;
  /** MAC address of this end (default: random). */
  mac?: string;
  /** The other end. */
  peer: {
    /** Its name (at most 15 bytes), in its own namespace. */
    name: string;
    /** The namespace to create it in (default: this handle's). */
    netns?: NetnsRef;
    /** Its MTU (default: `mtu`). */
    mtu?: number;
    /** Its MAC address (default: random). */
    mac?: string;
  };
}

/** Both ends of a new veth pair; `peer` as seen from its own namespace. */
export interface VethPair {
  /** The end created in the calling namespace. */
  readonly link: Link;
  /** The other end, in the target namespace. */
  readonly peer: Link;
}

/** Options for {@link Netlink.moveLink}. */
export interface MoveLinkOptions {
  /** The namespace to move it to. */
  netns: NetnsRef;
  /** Its name there (default: unchanged), as `ip link set X netns NS name Y`. */
  name?: string;
}

/**
 * A namespace reference turned into a handle the caller owns (and closes). Reopening a
 * handle through /proc/self/fd gives an independent descriptor of the same namespace,
 * so its owner may close theirs while this one is in use.
 * @throws {SysError} `ENOENT` for a missing namespace.
 */
export function ownHandle(ref: NetnsRef): NetnsHandle {
  return ref instanceof NetnsHandleClass ? openNetns(`/proc/self/fd/${ref.fd}`) : openNetns(ref);
}

/** A namespace as messages name it: its name or path. */
export function netnsLabel(ref: NetnsRef): string {
  return typeof ref === 'string' ? ref : ref.path;
}

/** The link `ref` names through `conn`, or `undefined` when there is none. */
export async function findIn(conn: RtConnection, ref: LinkRef, operation: string): Promise<Link | undefined> {
  try {
    return await getLink(conn, ref, operation);
  } catch (error) {
    if (error instanceof NetError && error.code === 'ENODEV') return undefined;
    throw error;
  }
}

/** Looks a link up through a short-lived socket in another namespace. */
async function lookupIn(netns: NetnsHandle, name: string, operation: string): Promise<Link> {
  const conn = RtConnection.open(netns);
  try {
    return await getLink(conn, name, operation);
  } finally {
    conn.close();
  }
}

/** Creates a veth pair through `conn` (one RTM_NEWLINK) and reads both ends back. */
export async function createVethPair(conn: RtConnection, options: CreateVethOptions): Promise<VethPair> {
  const peerNetns = options.peer.netns === undefined ? undefined : ownHandle(options.peer.netns);
  const where = options.peer.netns === undefined ? '' : ` netns ${netnsLabel(options.peer.netns)}`;
  const operation = `createVeth ${options.name} peer ${options.peer.name}${where}`;
  try {
    const peerMtu = options.peer.mtu ?? options.mtu;
    await createVethLink(
      conn,
      {
        name: options.name,
        ...(options.mtu !== undefined ? { mtu: options.mtu } : {}),
        ...(options.mac !== undefined ? { mac: options.mac } : {}),
        peer: {
          name: options.peer.name,
          ...(peerNetns ? { netnsFd: peerNetns.fd } : {}),
          ...(peerMtu !== undefined ? { mtu: peerMtu } : {}),
          ...(options.peer.mac !== undefined ? { mac: options.peer.mac } : {}),
        },
      },
      operation,
    );
    const link = await getLink(conn, options.name, operation);
    try {
      const peer = peerNetns ? await lookupIn(peerNetns, options.peer.name, operation) : await getLink(conn, options.peer.name, operation);
      return { link, peer };
    } catch (error) {
      // Someone else changed the peer in between; leave nothing half made behind.
      await deleteLinkByIndex(conn, link.index, operation).catch(() => undefined);
      throw error;
    }
  } finally {
    peerNetns?.close();
  }
}

/**
 * Moves a link from `conn`'s namespace (`home`, or the caller's when undefined) to
 * `options.netns`. The kernel moves first and renames after, in one request
 * (net/core/rtnetlink.c, `do_setlink`), so a name taken in the target would leave the
 * link moved under its old name with an EEXIST answer. Hence: check the target first,
 * and should the name appear in between, move the link back before throwing.
 */
export async function moveLinkAcross(conn: RtConnection, home: NetnsHandle | undefined, ref: LinkRef, options: MoveLinkOptions): Promise<void> {
  const renamed = options.name !== undefined ? ` name ${options.name}` : '';
  const operation = `moveLink ${describeLink(ref)} netns ${netnsLabel(options.netns)}${renamed}`;
  const link = await getLink(conn, ref, operation);
  const target = ownHandle(options.netns);
  try {
    const there = RtConnection.open(target);
    try {
      const finalName = options.name ?? link.name;
      if (await findIn(there, finalName, operation)) throw new NetError('EEXIST', 17, operation, `${finalName} exists there`);
      try {
        await moveLinkToNetns(conn, link.index, target.fd, options.name, operation);
      } catch (error) {
        await moveBack(conn, there, home, link, operation);
        throw error;
      }
    } finally {
      there.close();
    }
  } finally {
    target.close();
  }
}

/** After a failed move: if the link went over under its old name, bring it back. Best effort. */
async function moveBack(conn: RtConnection, there: RtConnection, home: NetnsHandle | undefined, link: Link, operation: string): Promise<void> {
  try {
    if (await findIn(conn, link.index, operation)) return; // still here: nothing to undo
    const moved = await findIn(there, link.name, operation);
    if (!moved || moved.mac !== link.mac) return;
    // The caller's namespace is the one this thread is in outside runInNetns.
    const homeHandle = home ?? openNetns('/proc/thread-self/ns/net');
    try {
      await moveLinkToNetns(there, moved.index, homeHandle.fd, undefined, `${operation} (moving it back)`);
    } finally {
      if (homeHandle !== home) homeHandle.close();
    }
  } catch {
    // The original error is the one the caller needs.
  }
}
