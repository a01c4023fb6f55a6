// The change the policy controller has not programmed yet: the policy index's diffs and
// the attachments, merged in order into one DataplaneChange. Events that arrive during
// an apply are merged here and go out together in the next one; a failed apply's change
// is merged back beneath the newer ones, so the retry programs both.
import { type EndpointPolicyChange, type EndpointRef, type IpIdentityEntry, type PolicyIndexDiff } from '@twill/policy-engine';

import { type DataplaneChange, type EndpointAttachment } from '../../dataplane/port.js';

const keyOf = (ref: EndpointRef): string => (ref.namespace === undefined ? `host:${ref.name}` : `${ref.namespace}/${ref.name}`);

/**
 * A DataplaneChange being built. Later changes win: an endpoint changed after it was
 * removed is changed (not removed), an address set after it was removed is set, and
 * the other way round; the directions that changed add up.
 */
export class PendingChange {
  readonly #changed = new Map<string, EndpointPolicyChange>();
  readonly #removed = new Map<string, EndpointRef>();
  readonly #ipSet = new Map<string, IpIdentityEntry>();
  readonly #ipRemoved = new Set<string>();
  readonly #attach = new Map<string, EndpointAttachment>();
  readonly #detach = new Set<string>();

  /** Whether there is nothing to program. */
  get empty(): boolean {
    return this.#changed.size === 0 && this.#removed.size === 0 && this.#ipSet.size === 0 && this.#ipRemoved.size === 0 && this.#attach.size === 0 && this.#detach.size === 0;
  }

  /** Adds what followed everything merged so far. */
  merge(change: DataplaneChange): void {
    const { policy } = change;
    for (const ref of policy.removed) {
      const key = keyOf(ref);
      this.#changed.delete(key);
      this.#removed.set(key, ref);
    }
    for (const endpoint of policy.changed) {
      const before = this.#changed.get(endpoint.key);
      this.#removed.delete(endpoint.key);
      const directions = before === undefined ? endpoint.changed : [...new Set([...before.changed, ...endpoint.changed])].sort();
      this.#changed.set(endpoint.key, before === undefined ? endpoint : { ...endpoint, changed: directions });
    }
    for (const prefix of policy.ipcache.removed) {
      this.#ipSet.delete(prefix);
      this.#ipRemoved.add(prefix);
    }
    for (const entry of policy.ipcache.set) {
      this.#ipRemoved.delete(entry.prefix);
      this.#ipSet.set(entry.prefix, entry);
    }
    for (const key of change.detach ?? []) {
      this.#attach.delete(key);
      this.#detach.add(key);
    }
    // Drivers detach before they attach: a key in both ends attached to the new interface.
    for (const attachment of change.attach ?? []) this.#attach.set(attachment.key, attachment);
  }

  /** Everything merged, as one change, leaving this empty. */
  take(): DataplaneChange {
    const policy: PolicyIndexDiff = {
      changed: [...this.#changed.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
      removed: [...this.#removed.values()],
      ipcache: { set: [...this.#ipSet.values()], removed: [...this.#ipRemoved] },
    };
    const change: DataplaneChange = {
      policy,
      ...(this.#attach.size === 0 ? {} : { attach: [...this.#attach.values()] }),
      ...(this.#detach.size === 0 ? {} : { detach: [...this.#detach] }),
    };
    for (const part of [this.#changed, this.#removed, this.#ipSet, this.#attach]) part.clear();
    this.#ipRemoved.clear();
    this.#detach.clear();
    return change;
  }

  /** Puts back a change that failed to program, beneath what was merged since. */
  restore(failed: DataplaneChange): void {
    const newer = this.take();
    this.merge(failed);
    this.merge(newer);
  }
}
