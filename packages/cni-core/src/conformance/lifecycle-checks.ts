// Checks of the network as a runtime drives it (through CniRuntime, as libcni would):
// ADD's result for each version, CHECK after ADD, DEL twice, DEL after a failed ADD, DEL
// with the namespace gone, GC keeping valid attachments, and STATUS (SPEC.md §"Section 4:
// Plugin Delegation" aside, §"ADD", §"DEL", §"CHECK", §"GC", §"STATUS").
import { PluginError } from '../errors.js';
import { type NetworkConfigList } from '../config/types.js';
import { type RuntimeConf } from '../invoke/types.js';
import { type CniResult } from '../spec/result.js';
import { isSupportedVersion, isVersionAtLeast } from '../spec/versions.js';
import { describeError, makeCheck, removeNetns, type SuiteContext, withNetns } from './context.js';
import { CHECK_STATUS, type CheckStatus, type ThrowawayNetns } from './types.js';

/** The network at each version the checks use. */
export interface LifecyclePlan {
  /** The network with its `cniVersion` set to a version (the document otherwise as written). */
  readonly at: (version: string) => NetworkConfigList;
  /** Versions every plugin claims, oldest first (the configuration's own when claims are unknown). */
  readonly common: readonly string[];
  /** The version of the CHECK/DEL/GC/STATUS checks: the newest of `common`. */
  readonly version: string;
  /** Every version to report an ADD check for, oldest first. */
  readonly addVersions: readonly string[];
  readonly disableCheck: boolean;
  readonly disableGC: boolean;
}

function attachment(ctx: SuiteContext, netns: ThrowawayNetns): RuntimeConf {
  return { containerId: ctx.nextContainerId(), netns: netns.path, ifName: ctx.ifName };
}

function summarize(result: CniResult): string {
  if ('interfaces' in result || 'ips' in result) {
    const r = result as { interfaces?: readonly unknown[]; ips?: readonly unknown[] };
    return `valid ${result.cniVersion} result: ${r.interfaces?.length ?? 0} interface(s), ${r.ips?.length ?? 0} IP(s)`;
  }
  const old = result as { ip4?: unknown; ip6?: unknown };
  return `valid ${result.cniVersion} result: ${[old.ip4 ? 'ip4' : '', old.ip6 ? 'ip6' : ''].filter(Boolean).join(' and ') || 'no IPs'}`;
}

/** DEL as cleanup: a failure goes to the notes, never into the check. */
async function cleanupDel(ctx: SuiteContext, list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
  try {
    await ctx.runtime.del(list, rt);
  } catch (error) {
    ctx.note(`cleanup DEL of ${rt.containerId} failed: ${describeError(error)}`);
  }
}

/** Stray stdout during a check fails it (SPEC.md: stdout carries only the result or error). */
function withStdout(ctx: SuiteContext, status: CheckStatus, reason: string): [CheckStatus, string] {
  const problems = ctx.takeStdoutProblems();
  if (problems.length === 0 || status !== CHECK_STATUS.PASSED) return [status, reason];
  return [CHECK_STATUS.FAILED, problems.join('; ')];
}

/** Records a check after reading the stdout problems of its calls. */
function record(ctx: SuiteContext, id: string, title: string, status: CheckStatus, reason: string): void {
  const [s, r] = withStdout(ctx, status, reason);
  ctx.record(makeCheck(id, title, s, r));
}

async function addChecks(ctx: SuiteContext, plan: LifecyclePlan): Promise<void> {
  for (const version of plan.addVersions) {
    const id = `add@${version}`;
    const title = `ADD result is valid for ${version}`;
    if (!plan.common.includes(version)) {
      record(ctx, id, title, CHECK_STATUS.NOT_APPLICABLE, 'not claimed by every plugin');
      continue;
    }
    if (!isSupportedVersion(version)) {
      record(ctx, id, title, CHECK_STATUS.NOT_APPLICABLE, 'a version this suite does not know');
      continue;
    }
    const list = plan.at(version);
    await withNetns(ctx, async (netns) => {
      const rt = attachment(ctx, netns);
      try {
        const result = await ctx.runtime.add(list, rt);
        record(ctx, id, title, CHECK_STATUS.PASSED, summarize(result));
      } catch (error) {
        record(ctx, id, title, CHECK_STATUS.FAILED, describeError(error));
      }
      await cleanupDel(ctx, list, rt);
      ctx.takeStdoutProblems();
    });
  }
}

/**
 * Runs `body` after a successful ADD in a fresh namespace; when ADD fails the check does
 * not apply. DEL cleans up afterwards unless `body` says it already did.
 */
async function afterAdd(
  ctx: SuiteContext,
  list: NetworkConfigList,
  id: string,
  title: string,
  body: (rt: RuntimeConf, netns: ThrowawayNetns) => Promise<{ status: CheckStatus; reason: string; deleted?: boolean }>,
): Promise<void> {
  await withNetns(ctx, async (netns) => {
    const rt = attachment(ctx, netns);
    try {
      await ctx.runtime.add(list, rt);
    } catch (error) {
      ctx.takeStdoutProblems();
      record(ctx, id, title, CHECK_STATUS.NOT_APPLICABLE, `needs a successful ADD, which failed: ${describeError(error)}`);
      await cleanupDel(ctx, list, rt);
      return;
    }
    const outcome = await body(rt, netns);
    record(ctx, id, title, outcome.status, outcome.reason);
    if (outcome.deleted !== true) await cleanupDel(ctx, list, rt);
    ctx.takeStdoutProblems();
  });
}

async function attempt(fn: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await fn();
    return undefined;
  } catch (error) {
    return describeError(error);
  }
}

async function checkCheck(ctx: SuiteContext, plan: LifecyclePlan): Promise<void> {
  const id = 'check';
  const title = 'CHECK after ADD succeeds';
  const version = [...plan.common].reverse().find((v) => isVersionAtLeast(v, '0.4.0') && isSupportedVersion(v));
  if (version === undefined) return record(ctx, id, title, CHECK_STATUS.NOT_APPLICABLE, 'CHECK is new in 0.4.0, which not every plugin claims');
  if (plan.disableCheck) return record(ctx, id, title, CHECK_STATUS.NOT_APPLICABLE, 'the configuration sets disableCheck');
  const list = plan.at(version);
  await afterAdd(ctx, list, id, title, async (rt) => {
    const failure = await attempt(() => ctx.runtime.check(list, rt));
    return failure === undefined
      ? { status: CHECK_STATUS.PASSED, reason: `CHECK at ${version} succeeded` }
      : { status: CHECK_STATUS.FAILED, reason: failure };
  });
}

async function delTwice(ctx: SuiteContext, plan: LifecyclePlan): Promise<void> {
  const list = plan.at(plan.version);
  await afterAdd(ctx, list, 'del.twice', 'DEL twice succeeds both times (idempotent)', async (rt) => {
    const first = await attempt(() => ctx.runtime.del(list, rt));
    if (first !== undefined) return { status: CHECK_STATUS.FAILED, reason: `the first DEL failed: ${first}` };
    const second = await attempt(() => ctx.runtime.del(list, rt));
    if (second !== undefined) return { status: CHECK_STATUS.FAILED, reason: `the second DEL failed: ${second}`, deleted: true };
    return { status: CHECK_STATUS.PASSED, reason: 'both DELs succeeded', deleted: true };
  });
}

async function delAfterFailedAdd(ctx: SuiteContext, plan: LifecyclePlan): Promise<void> {
  const id = 'del.after-failed-add';
  const title = 'DEL after a failed ADD succeeds';
  const list = plan.at(plan.version);
  // ADD into a namespace that no longer exists: the one failure every plugin can be led to.
  const netns = await ctx.namespaces.create();
  await removeNetns(ctx, netns);
  const rt = attachment(ctx, netns);
  const added = await attempt(() => ctx.runtime.add(list, rt));
  // Stray stdout of the ADD meant to fail is the error checks' business, not this one's.
  ctx.takeStdoutProblems();
  if (added === undefined) {
    record(ctx, id, title, CHECK_STATUS.NOT_APPLICABLE, 'ADD into a removed namespace succeeded, so no failed ADD could be made');
    return cleanupDel(ctx, list, rt);
  }
  const failure = await attempt(() => ctx.runtime.del(list, rt));
  record(
    ctx, id, title,
    failure === undefined ? CHECK_STATUS.PASSED : CHECK_STATUS.FAILED,
    failure === undefined ? `ADD failed (${added}); DEL succeeded` : `ADD failed as meant, then DEL failed: ${failure}`,
  );
}

async function delNetnsGone(ctx: SuiteContext, plan: LifecyclePlan): Promise<void> {
  const list = plan.at(plan.version);
  await afterAdd(ctx, list, 'del.netns-gone', 'DEL succeeds when the namespace is gone', async (rt, netns) => {
    await removeNetns(ctx, netns);
    const failure = await attempt(() => ctx.runtime.del(list, rt));
    return failure === undefined
      ? { status: CHECK_STATUS.PASSED, reason: 'DEL with the removed namespace path succeeded', deleted: true }
      : { status: CHECK_STATUS.FAILED, reason: failure, deleted: true };
  });
}

async function gcCheck(ctx: SuiteContext, plan: LifecyclePlan): Promise<void> {
  const id = 'gc';
  const title = 'GC keeps the valid attachments (1.1.0)';
  if (!plan.common.includes('1.1.0')) {
    return record(ctx, id, title, CHECK_STATUS.NOT_APPLICABLE, `GC is new in 1.1.0; the plugins claim up to ${plan.version}`);
  }
  if (plan.disableGC) return record(ctx, id, title, CHECK_STATUS.NOT_APPLICABLE, 'the configuration sets disableGC');
  const list = plan.at('1.1.0');
  // GC deletes every cached attachment not named valid: a cache of its own keeps what
  // earlier failed checks left in the suite's cache out of this check.
  const gctx: SuiteContext = { ...ctx, runtime: ctx.isolatedRuntime() };
  await afterAdd(gctx, list, id, title, async (kept) =>
    withNetns(gctx, async (otherNetns) => {
      const stale = attachment(gctx, otherNetns);
      const added = await attempt(() => gctx.runtime.add(list, stale));
      if (added !== undefined) {
        await cleanupDel(gctx, list, stale);
        return { status: CHECK_STATUS.FAILED, reason: `the second ADD failed: ${added}` };
      }
      const gc = await attempt(() =>
        gctx.runtime.gc(list, { validAttachments: [{ containerID: kept.containerId, ifname: kept.ifName }] }),
      );
      if (gc !== undefined) {
        await cleanupDel(gctx, list, stale);
        return { status: CHECK_STATUS.FAILED, reason: `GC failed: ${gc}` };
      }
      if (plan.disableCheck) return { status: CHECK_STATUS.PASSED, reason: 'GC succeeded (disableCheck: the kept attachment was not CHECKed)' };
      const check = await attempt(() => gctx.runtime.check(list, kept));
      return check === undefined
        ? { status: CHECK_STATUS.PASSED, reason: 'GC removed the stale attachment; CHECK of the valid one still succeeds' }
        : { status: CHECK_STATUS.FAILED, reason: `after GC, CHECK of the valid attachment failed: ${check}` };
    }),
  );
}

async function statusCheck(ctx: SuiteContext, plan: LifecyclePlan): Promise<void> {
  const id = 'status';
  const title = 'STATUS answers (1.1.0)';
  if (!plan.common.includes('1.1.0')) {
    return record(ctx, id, title, CHECK_STATUS.NOT_APPLICABLE, `STATUS is new in 1.1.0; the plugins claim up to ${plan.version}`);
  }
  try {
    await ctx.runtime.status(plan.at('1.1.0'));
    record(ctx, id, title, CHECK_STATUS.PASSED, 'ready');
  } catch (error) {
    // 50 and 51 are the answers STATUS is for (SPEC.md v1.1.0 §"STATUS").
    const notReady = error instanceof PluginError && error.failure === 'error' && (error.code === 50 || error.code === 51);
    record(ctx, id, title, notReady ? CHECK_STATUS.PASSED : CHECK_STATUS.FAILED, notReady ? `answered not ready: ${describeError(error)}` : describeError(error));
  }
}

/** Every check of the network, in order. */
export async function checkLifecycle(ctx: SuiteContext, plan: LifecyclePlan): Promise<void> {
  ctx.takeStdoutProblems();
  await addChecks(ctx, plan);
  await checkCheck(ctx, plan);
  await delTwice(ctx, plan);
  await delAfterFailedAdd(ctx, plan);
  await delNetnsGone(ctx, plan);
  await gcCheck(ctx, plan);
  await statusCheck(ctx, plan);
}
