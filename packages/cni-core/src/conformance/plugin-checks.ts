// Checks of one plugin executable on its own, with hand-made environments and stdin:
// the VERSION answer, and the error document and code for a bad environment or a bad
// configuration (SPEC.md §"Parameters", §"Error", §"VERSION").
import { CNI_ERROR } from '../errors.js';
import { type ExecResult } from '../invoke/types.js';
import { decodeVersionResult, type VersionResult } from '../spec/plugin-output.js';
import { describeError, makeCheck, type SuiteContext, withNetns } from './context.js';
import { judgeError, judgeSuccess } from './outcome.js';
import { CHECK_STATUS, type ConformanceCheck } from './types.js';

/** One executable to check, with the stdin it is normally given. */
export interface PluginUnderTest {
  /** Its `type`: the executable's name. */
  readonly type: string;
  /** What it reads on stdin for ADD: its own config, or for an IPAM plugin its caller's. */
  readonly stdin: Uint8Array;
  /** The version its stdin declares. */
  readonly cniVersion: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function run(
  ctx: SuiteContext,
  file: string,
  env: Readonly<Record<string, string>>,
  stdin: Uint8Array,
): Promise<ExecResult> {
  return ctx.exec.exec({ file, env, stdin, timeoutMs: ctx.timeoutMs });
}

function decodeVersion(value: unknown): VersionResult {
  const info = decodeVersionResult(value);
  if (info.supportedVersions.length === 0) throw new Error('supportedVersions: empty');
  return info;
}

/**
 * VERSION checks: the answer to the configuration's version, then to each version the
 * plugin claims. Returns the claimed versions, or undefined when the answer was bad.
 */
async function versionChecks(ctx: SuiteContext, plugin: PluginUnderTest, file: string): Promise<readonly string[] | undefined> {
  const ask = (version: string): Promise<ExecResult> =>
    run(ctx, file, { CNI_COMMAND: 'VERSION' }, encoder.encode(JSON.stringify({ cniVersion: version })));
  const first = judgeSuccess(await ask(plugin.cniVersion), ctx.timeoutMs, decodeVersion);
  const title = 'VERSION prints valid JSON with well-formed supportedVersions';
  if (!first.ok) {
    ctx.record(makeCheck('version', title, CHECK_STATUS.FAILED, first.reason, plugin.type));
    ctx.record(
      makeCheck('version.each', 'VERSION answers for each version it claims', CHECK_STATUS.NOT_APPLICABLE, 'no valid VERSION answer', plugin.type),
    );
    return undefined;
  }
  const claimed = first.value.supportedVersions;
  ctx.record(makeCheck('version', title, CHECK_STATUS.PASSED, `supports ${claimed.join(', ')}`, plugin.type));

  const problems: string[] = [];
  for (const version of claimed) {
    const answer = judgeSuccess(await ask(version), ctx.timeoutMs, decodeVersion);
    if (!answer.ok) problems.push(`${version}: ${answer.reason}`);
    else if ([...answer.value.supportedVersions].sort().join() !== [...claimed].sort().join()) {
      problems.push(`${version}: supportedVersions differ (${answer.value.supportedVersions.join(', ')})`);
    }
  }
  ctx.record(
    makeCheck(
      'version.each',
      'VERSION answers for each version it claims',
      problems.length === 0 ? CHECK_STATUS.PASSED : CHECK_STATUS.FAILED,
      problems.length === 0 ? `${claimed.length} version(s) answered` : problems.join('; '),
      plugin.type,
    ),
  );
  return claimed;
}

/** A bad call and the code the spec gives it. */
interface BadCall {
  readonly id: string;
  readonly title: string;
  /** Changes to a valid ADD environment: a value, or undefined to leave the variable out. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The stdin to send instead of the plugin's own. */
  readonly stdin?: (valid: string) => string;
  readonly code: number;
}

function withField(stdin: string, key: string, value: unknown): string {
  const doc = JSON.parse(stdin) as Record<string, unknown>;
  if (value === undefined) delete doc[key];
  else doc[key] = value;
  return JSON.stringify(doc);
}

/** A version no plugin claims: well-formed, so only "unsupported" can be wrong with it. */
export const UNSUPPORTED_VERSION = '99.0.0';

// SPEC.md §"Parameters": CNI_COMMAND is always required; ADD needs CNI_CONTAINERID
// (alphanumerics, then also `_` `.` `-`), CNI_NETNS and CNI_IFNAME. §"Error": code 4 for
// invalid environment variables, 6 for content that does not decode, 1 for an
// incompatible version, 7 for an invalid network configuration.
const BAD_CALLS: readonly BadCall[] = [
  { id: 'env.missing-command', title: 'missing CNI_COMMAND gives error code 4', env: { CNI_COMMAND: undefined }, code: CNI_ERROR.INVALID_ENVIRONMENT },
  { id: 'env.unknown-command', title: 'unknown CNI_COMMAND gives error code 4', env: { CNI_COMMAND: 'FROBNICATE' }, code: CNI_ERROR.INVALID_ENVIRONMENT },
  { id: 'env.missing-containerid', title: 'ADD without CNI_CONTAINERID gives error code 4', env: { CNI_CONTAINERID: undefined }, code: CNI_ERROR.INVALID_ENVIRONMENT },
  { id: 'env.bad-containerid', title: 'ADD with an invalid CNI_CONTAINERID gives error code 4', env: { CNI_CONTAINERID: '../bad id;' }, code: CNI_ERROR.INVALID_ENVIRONMENT },
  { id: 'env.missing-netns', title: 'ADD without CNI_NETNS gives error code 4', env: { CNI_NETNS: undefined }, code: CNI_ERROR.INVALID_ENVIRONMENT },
  { id: 'env.missing-ifname', title: 'ADD without CNI_IFNAME gives error code 4', env: { CNI_IFNAME: undefined }, code: CNI_ERROR.INVALID_ENVIRONMENT },
  { id: 'config.invalid-json', title: 'configuration that is not JSON gives error code 6', stdin: (s) => s.slice(0, -1), code: CNI_ERROR.DECODE_FAILURE },
  {
    id: 'config.unsupported-version',
    title: `unsupported cniVersion (${UNSUPPORTED_VERSION}) gives error code 1`,
    stdin: (s) => withField(s, 'cniVersion', UNSUPPORTED_VERSION),
    code: CNI_ERROR.INCOMPATIBLE_VERSION,
  },
  { id: 'config.missing-name', title: 'configuration without a name gives error code 7', stdin: (s) => withField(s, 'name', undefined), code: CNI_ERROR.INVALID_NETWORK_CONFIG },
];

/** Environment and stdin checks: each bad call must fail with the spec's error document and code. */
async function errorChecks(ctx: SuiteContext, plugin: PluginUnderTest, file: string): Promise<void> {
  const valid = decoder.decode(plugin.stdin);
  for (const bad of BAD_CALLS) {
    let recorded = false;
    await withNetns(ctx, async (netns) => {
      const base: Record<string, string> = {
        CNI_COMMAND: 'ADD',
        CNI_CONTAINERID: ctx.nextContainerId(),
        CNI_NETNS: netns.path,
        CNI_IFNAME: ctx.ifName,
        CNI_PATH: ctx.path.join(':'),
      };
      const env: Record<string, string> = { ...base };
      for (const [key, value] of Object.entries(bad.env ?? {})) {
        if (value === undefined) delete env[key];
        else env[key] = value;
      }
      const stdin = bad.stdin ? bad.stdin(valid) : valid;
      const result = await run(ctx, file, env, encoder.encode(stdin));
      const verdict = judgeError(result, bad.code, ctx.timeoutMs);
      recorded = true;
      ctx.record(
        makeCheck(bad.id, bad.title, verdict.ok ? CHECK_STATUS.PASSED : CHECK_STATUS.FAILED, verdict.ok ? verdict.note : verdict.reason, plugin.type),
      );
      if (result.exitCode === 0 && env['CNI_COMMAND'] === 'ADD') {
        // It did something it should have refused: undo it with a proper DEL.
        const undo = await run(ctx, file, { ...base, CNI_COMMAND: 'DEL', CNI_CONTAINERID: env['CNI_CONTAINERID'] ?? base['CNI_CONTAINERID'] ?? '' }, plugin.stdin);
        if (undo.exitCode !== 0) ctx.note(`${plugin.type}: the DEL undoing the accepted bad call ${bad.id} failed`);
      }
    }).catch((error: unknown) => {
      if (recorded) ctx.note(`${plugin.type}: ${bad.id}: ${describeError(error)}`);
      else ctx.record(makeCheck(bad.id, bad.title, CHECK_STATUS.FAILED, `could not run: ${describeError(error)}`, plugin.type));
    });
  }
  ctx.takeStdoutProblems(); // judged above, check by check
}

/**
 * Every check of one executable. Returns the versions it claims (undefined when its
 * VERSION answer was bad or it is not on the path).
 */
export async function checkPlugin(ctx: SuiteContext, plugin: PluginUnderTest): Promise<readonly string[] | undefined> {
  const file = await ctx.exec.find(plugin.type, ctx.path);
  if (file === undefined) {
    const reason = `no executable named ${JSON.stringify(plugin.type)} in ${ctx.path.join(':')}`;
    const all: ConformanceCheck[] = [
      makeCheck('version', 'VERSION prints valid JSON with well-formed supportedVersions', CHECK_STATUS.FAILED, reason, plugin.type),
    ];
    all.forEach((c) => ctx.record(c));
    return undefined;
  }
  const claimed = await versionChecks(ctx, plugin, file);
  await errorChecks(ctx, plugin, file);
  return claimed;
}
