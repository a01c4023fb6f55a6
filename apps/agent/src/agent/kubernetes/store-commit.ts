// A Store commit over single-object compare-and-swap, for the Kubernetes API. Pure: the
// requests are behind the CasObjects port (sys/store.ts implements it with client-node).
//
// Kubernetes has no multi-object transaction: each object is written on its own, with
// optimistic concurrency on metadata.resourceVersion (an update or a delete naming a
// resourceVersion fails with 409 Conflict when the object has moved on; a create fails
// with 409 AlreadyExists). Calico's Kubernetes datastore lives with that by ordering its
// single-object writes so that every intermediate state is safe (a block affinity is
// created "pending", then the block, then the affinity is confirmed) and by having
// `calicoctl ipam check` and its IPAM garbage collection repair what a crash leaves
// behind. The @twill/ipam allocator asks for an atomic multi-key commit instead, so this
// module emulates one: it applies the writes one by one, each by compare-and-swap, and
// when a later write's condition fails it undoes the earlier ones, again by
// compare-and-swap on the revisions it just wrote (deletes what it created, puts back
// the previous text of what it replaced, re-creates what it deleted), then reports the
// conflict. The commit is all or nothing to every writer that conditions its writes on
// what it read, which every pool allocator write does. Two things are weaker than a
// real transaction, and both are said where they matter:
//   - readers may see a commit half applied while it runs (a block taken whose handle is
//     not written yet); the allocator never trusts one document without its condition,
//     and `check()` would report such a state only if it lasted;
//   - if an undo itself meets a conflict (someone changed a key in the moment between),
//     or the API fails in the middle, some writes stay: the commit rejects with a
//     StoreFailureError naming the keys left half-written, for the pool allocator's
//     `check()` to report and its `gc()` (an address whose handle is missing) or
//     `removeNode()` (a node's claims) to repair, as Calico's `ipam check` and GC do.
import { type CommitOutcome, type Revision, StoreFailureError, type StoreEntry, type StoreOp } from '@twill/ipam';

/**
 * A write that certainly changed nothing: the API server refused it with an answer (a 4xx
 * Status other than the conflicts CasObjects reports as CONFLICT), or an unconditional
 * write that never won its compare-and-swap. Other failures (no answer, a reset, a
 * timeout, a 5xx) may come after the server applied the write.
 */
// Its name stays StoreFailureError: to the Store's callers it is one.
export class StoreRefusedError extends StoreFailureError {}

/** A write that lost its compare-and-swap. */
export const CONFLICT = 'conflict';

/**
 * Compare-and-swap on single objects, one per store key (the port sys/store.ts fills
 * with API requests). Every method rejects with a StoreFailureError when the API fails,
 * a StoreRefusedError when it answered with a refusal.
 */
export interface CasObjects {
  /** The entry at `key` now, or `undefined` (404). */
  read(key: string): Promise<StoreEntry | undefined>;
  /** Creates the entry; its new revision, or CONFLICT when it exists (409 AlreadyExists). */
  create(key: string, value: string): Promise<Revision | typeof CONFLICT>;
  /** Replaces the entry at `revision`; its new revision, or CONFLICT when it moved on or is gone (409, 404). */
  replace(key: string, value: string, revision: Revision): Promise<Revision | typeof CONFLICT>;
  /**
   * Deletes the entry at `revision` (any revision when `undefined`): `deleted`, `absent`
   * (404, only without a revision), or CONFLICT (409, or 404 with a revision).
   */
  remove(key: string, revision: Revision | undefined): Promise<'deleted' | 'absent' | typeof CONFLICT>;
}

/** What {@link casCommit} remembers of entries it has seen, to undo without reading. */
export interface KnownValues {
  /** The value at `key` when it was at `revision`, if known. */
  valueAt(key: string, revision: Revision): string | undefined;
}

/** Options of {@link casCommit}. */
export interface CasCommitOptions {
  readonly objects: CasObjects;
  /** Values already known at a revision (from earlier reads), to skip a read before a write that may need undoing. */
  readonly known?: KnownValues;
  /** How many read-then-write rounds an unconditional write tries before failing (default 50). */
  readonly maxUnconditionalAttempts?: number;
}

// How to undo one applied write: the entry's state before (`previous`, undefined when
// absent) and its revision after (`revision`, undefined when deleted).
interface Applied {
  readonly key: string;
  readonly previous: string | undefined;
  readonly revision: Revision | undefined;
}

// An op's outcome: applied (with its undo, or `undefined` when it wrote nothing), or conflict.
type Step = { readonly applied: Applied | undefined } | typeof CONFLICT;

/**
 * Applies the writes of a commit one by one, each by compare-and-swap (revision
 * conditions first, see conflictsFirst); on a conflict undoes what was applied and
 * returns `{ ok: false, conflicts: [key] }` (the first write that failed: later ones
 * are not tried). Keys are not checked here (the caller does).
 * @returns `{ ok: true }`, or the conflict, plus whether anything was written at all
 * (`wrote`: a commit undone still moved revisions).
 * @throws StoreFailureError when the API fails, or when an undo fails; its message names
 * the keys left half-written.
 */
export async function casCommit(given: readonly StoreOp[], options: CasCommitOptions): Promise<{ outcome: CommitOutcome; wrote: boolean }> {
  const ops = conflictsFirst(given);
  const applied: Applied[] = [];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as StoreOp;
    // The last write never needs undoing: no read of its previous value.
    const undoable = i < ops.length - 1;
    let step: Step;
    try {
      step = await applyOp(op, undoable, options);
    } catch (error) {
      const left = await undoEach(applied, options.objects);
      // The API answered with a refusal: nothing of this write happened; report it as is
      // unless an undo failed too.
      if (error instanceof StoreRefusedError && left.keys.length === 0) throw error;
      // Otherwise the request may have failed after the server applied it (a connection
      // reset, a timeout): this key may be written, and is named as such.
      const message = error instanceof Error ? error.message : String(error);
      const maybe = error instanceof StoreRefusedError ? [] : [`${op.key} may have been written`];
      throw halfWritten(`the write of ${op.key} failed (${message})`, left.keys, maybe, error);
    }
    if (step === CONFLICT) {
      await undoAll(applied, options.objects, `${op.key} conflicted`, undefined);
      return { outcome: { ok: false, conflicts: [op.key] }, wrote: applied.length > 0 };
    }
    if (step.applied !== undefined) applied.push(step.applied);
  }
  return { outcome: { ok: true }, wrote: applied.length > 0 };
}

// The order to apply a commit's writes in: those conditioned on a revision first (a
// document someone else may have changed since it was read: the likeliest to conflict),
// then those conditioned on absence, then unconditional ones (which never conflict, so
// they are never undone but for an API failure). A write that conflicts early has
// nothing before it to undo: in the pool allocator's commits the contended block goes
// before the new handle. The outcome is the same in any order, the keys being distinct;
// a commit naming a key twice is applied in the order given.
function conflictsFirst(ops: readonly StoreOp[]): readonly StoreOp[] {
  if (ops.length < 2 || new Set(ops.map((op) => op.key)).size !== ops.length) return ops;
  const rank = (op: StoreOp): number => (op.expect === undefined ? 2 : 'absent' in op.expect ? 1 : 0);
  // Array.prototype.sort is stable.
  return [...ops].sort((a, b) => rank(a) - rank(b));
}

async function applyOp(op: StoreOp, undoable: boolean, options: CasCommitOptions): Promise<Step> {
  const { objects } = options;
  const expect = op.expect;
  if (expect !== undefined && 'absent' in expect) {
    if (op.type === 'delete') {
      // Deleting what must be absent writes nothing: the condition is only checked.
      return (await objects.read(op.key)) === undefined ? { applied: undefined } : CONFLICT;
    }
    const revision = await objects.create(op.key, op.value);
    return revision === CONFLICT ? CONFLICT : { applied: { key: op.key, previous: undefined, revision } };
  }
  if (expect !== undefined) {
    // A revision this store never hands out cannot be current.
    if (!/^[0-9]+$/.test(expect.revision)) return CONFLICT;
    let previous: string | undefined;
    if (undoable) {
      // The entry the condition was read from, when the caller passes it, else what this store saw.
      const read = 'entry' in expect ? expect.entry : undefined;
      previous = read !== undefined && read.revision === expect.revision ? read.value : options.known?.valueAt(op.key, expect.revision);
      if (previous === undefined) {
        const now = await objects.read(op.key);
        if (now === undefined || now.revision !== expect.revision) return CONFLICT;
        previous = now.value;
      }
    }
    if (op.type === 'delete') {
      const removed = await objects.remove(op.key, expect.revision);
      if (removed !== 'deleted') return CONFLICT;
      return { applied: { key: op.key, previous, revision: undefined } };
    }
    const revision = await objects.replace(op.key, op.value, expect.revision);
    return revision === CONFLICT ? CONFLICT : { applied: { key: op.key, previous, revision } };
  }
  return { applied: await unconditional(op, undoable, options) };
}

// An unconditional write: read, then compare-and-swap on what was read, until it lands.
async function unconditional(op: StoreOp, undoable: boolean, options: CasCommitOptions): Promise<Applied | undefined> {
  const { objects } = options;
  const attempts = options.maxUnconditionalAttempts ?? 50;
  if (op.type === 'delete' && !undoable) {
    await objects.remove(op.key, undefined);
    return undefined;
  }
  for (let attempt = 0; attempt < attempts; attempt++) {
    const now = await objects.read(op.key);
    if (op.type === 'delete') {
      if (now === undefined) return undefined;
      if ((await objects.remove(op.key, now.revision)) === 'deleted') return { key: op.key, previous: now.value, revision: undefined };
      continue;
    }
    const revision = now === undefined ? await objects.create(op.key, op.value) : await objects.replace(op.key, op.value, now.revision);
    if (revision !== CONFLICT) return { key: op.key, previous: now?.value, revision };
  }
  throw new StoreRefusedError(`Kubernetes store: the unconditional ${op.type} of ${op.key} kept conflicting (${attempts} attempts)`);
}

// Undoes `applied` newest first, each by compare-and-swap on the revision written;
// rejects with the keys it could not undo.
async function undoAll(applied: readonly Applied[], objects: CasObjects, why: string, cause: unknown): Promise<void> {
  const left = await undoEach(applied, objects);
  if (left.keys.length === 0) return;
  throw halfWritten(why, left.keys, [], left.firstError ?? cause);
}

// Undoes `applied` newest first; the keys it could not undo (in commit order) and the first error.
async function undoEach(applied: readonly Applied[], objects: CasObjects): Promise<{ keys: string[]; firstError: unknown }> {
  const keys: string[] = [];
  let firstError: unknown;
  for (let i = applied.length - 1; i >= 0; i--) {
    const write = applied[i] as Applied;
    try {
      if (!(await undoOne(write, objects))) keys.push(write.key);
    } catch (error) {
      firstError ??= error;
      keys.push(write.key);
    }
  }
  keys.reverse();
  return { keys, firstError };
}

// The failure of a commit that left writes behind (`left`), or may have (`maybe`).
function halfWritten(why: string, left: readonly string[], maybe: readonly string[], cause: unknown): StoreFailureError {
  const parts = [...(left.length === 0 ? [] : [`${left.join(', ')} left half-written (changed by another writer, or the API failed)`]), ...maybe];
  return new StoreFailureError(
    `Kubernetes store: a commit could not be undone after ${why}: ${parts.join('; ')}; ` +
      `the pool allocator's check() reports what is left, and its gc() frees addresses whose handle is missing`,
    { cause },
  );
}

async function undoOne(write: Applied, objects: CasObjects): Promise<boolean> {
  if (write.revision === undefined) {
    // Deleted: re-created with its previous text (a new revision: readers of the old one retry).
    if (write.previous === undefined) return true;
    return (await objects.create(write.key, write.previous)) !== CONFLICT;
  }
  if (write.previous === undefined) return (await objects.remove(write.key, write.revision)) === 'deleted';
  return (await objects.replace(write.key, write.previous, write.revision)) !== CONFLICT;
}
