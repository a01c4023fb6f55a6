// `twill lab up|status|exec|down`: a multi-node Twill cluster on this machine, in
// network namespaces, with real agents, CNI ADDs and BGP.

import { type Command, Option } from 'commander';

import { examples, group, withChoices, type CommandKit } from '../command-kit.js';
import { type CommandContext } from '../context.js';
import { FailedError, UsageError } from '../errors.js';
import { renderJson, renderTable } from '../output.js';
import { DEMO_NAMESPACES, demoLabPods, runDemonstration } from './demo/index.js';
import { LAB_ERROR_CODE, LabError } from './errors.js';
import { LAB_DATAPLANES, LAB_TORS, type Lab } from './ports.js';
import { LAB_ADDRESSING } from './plan.js';
import { progressWriter } from './progress.js';
import { labSpecFromOptions, type LabUpOptions } from './spec.js';
import { labStatusText } from './status-text.js';
import { labDown } from './sys/down.js';
import { labExec } from './sys/exec.js';
import { defaultLabDir, labHostFacts } from './sys/host-facts.js';
import { labStatus } from './sys/status.js';
import { labUp } from './sys/up.js';

// A LabError as the CLI's one-line error: bad input exits 2, the rest 1.
function asCliError(command: string, error: unknown): never {
  if (!(error instanceof LabError)) throw error;
  const [first, ...rest] = error.message.split('\n');
  const what = rest.length === 0 ? (first ?? '') : `${first ?? ''} | ${rest.join(' | ')}`;
  if (error.code === LAB_ERROR_CODE.INVALID_SPEC) throw new UsageError(command, '', what, { cause: error });
  throw new FailedError(command, '', what, { cause: error });
}

const dirOf = (ctx: CommandContext, dir: string | undefined): string => (dir === undefined ? defaultLabDir() : labSpecFromOptions({ dir }, labHostFacts(ctx.io.cwd)).dir);

function summary(ctx: CommandContext, lab: Lab): string {
  const { style } = ctx;
  const nodes = renderTable(
    [{ header: 'NODE' }, { header: 'ADDRESS' }, { header: 'BLOCK' }, { header: 'AGENT PID', align: 'right' }, { header: 'NAMESPACE' }],
    lab.nodes.map((n) => [n.name, n.address, n.block ?? '-', String(n.agentPid), n.netns]),
    style,
  );
  const pods = renderTable(
    [{ header: 'POD' }, { header: 'NODE' }, { header: 'ADDRESS' }, { header: 'LABELS' }],
    lab.pods.map((p) => [`${p.namespace}/${p.name}`, p.node, p.address, Object.entries(p.labels).map(([k, v]) => `${k}=${v}`).join(',')]),
    style,
  );
  const tor = lab.tor === undefined ? 'BGP: full mesh between the nodes\n' : `BGP: every node peers with the ToR ${lab.tor.address} (BIRD, AS ${lab.tor.asNumber}, route reflector; birdc -s ${lab.tor.controlSocket} show route)\n`;
  // Each agent serves its dashboard on its node namespace's loopback: a browser reaches it from inside that namespace.
  const ui = lab.nodes.map((n) => `Dashboard of ${n.name}: http://${LAB_ADDRESSING.uiListen}/ in namespace ${n.netns} (twill ui --lab forwards it to this host)\n`).join('');
  return `${nodes}\n${lab.pods.length === 0 ? '' : `${pods}\n`}${tor}${ui}`;
}

/** Registers `twill lab`. */
export function registerLabCommands(program: Command, kit: CommandKit): void {
  const lab = group(program, 'lab', 'a multi-node Twill cluster on this machine: nodes, pods and a ToR as network namespaces (root)');
  examples(lab, ['sudo twill lab up', 'sudo twill lab exec pod-1-1 -- curl -s http://10.244.0.66:8080/', 'sudo twill lab down']);
  const dirOption = (): Option => new Option('--dir <dir>', `the lab's folder (default ${defaultLabDir()})`);

  const up = lab
    .command('up')
    .description('bring a lab up: a fabric bridge, one namespace per node running twill-agent (with its L7 proxy), pods added through CNI ADD, BGP routes between the nodes; then, unless --no-demo, the seed tutorial\'s policies step by step: who reaches whom beside twill policy simulate, HTTP requests beside what the L7 rule decides (the agents\' proxies answer 403 to a request it refuses), and the flows the agents recorded; refuses (exit 1) when the folder already holds a lab: twill lab down first')
    .option('--nodes <n>', 'number of nodes, 1-16 (default 3)')
    .option('--pods-per-node <n>', 'pods on each node, 0-32 (default 3)')
    .addOption(withChoices(new Option('--dataplane <driver>', 'the agents\' policy dataplane (default nftables)'), [...LAB_DATAPLANES]))
    .addOption(withChoices(new Option('--tor <router>', 'bird: every node peers with a BIRD top-of-rack router (default when /usr/sbin/bird exists); none: a full mesh'), [...LAB_TORS]))
    .addOption(dirOption())
    .option('--no-demo', 'only the lab: generic pods (pod-<node>-<i>), no role servers, no policies')
    .addOption(withChoices(new Option('-o, --output <format>', 'table or json (the lab as `twill lab status -o json` gives it; json implies --no-demo)').default('table'), ['table', 'json']));
  examples(up, ['sudo twill lab up', 'sudo twill lab up --nodes 2 --pods-per-node 2 --tor none --no-demo', 'sudo twill lab up --dataplane ebpf --dir /tmp/lab2']);
  up.action(async (opts: LabUpOptions & { output: string; demo: boolean }, command: Command) => {
    const ctx = kit.context(command);
    if (opts.output !== 'table' && opts.output !== 'json') throw new UsageError(ctx.command, '--output', `must be one of table, json (got ${JSON.stringify(opts.output)})`);
    const demo = opts.demo && opts.output === 'table';
    let result: Lab;
    try {
      const spec = labSpecFromOptions(opts, labHostFacts(ctx.io.cwd));
      // The demonstration's pods play the seed tutorial's roles in its namespaces (lab/demo).
      const withRoles = demo ? { ...spec, pods: demoLabPods(spec.nodes, spec.podsPerNode), namespaces: DEMO_NAMESPACES } : spec;
      result = await labUp(withRoles, progressWriter(ctx.io.stderr, ctx.style));
    } catch (error) {
      asCliError(ctx.command, error);
    }
    ctx.io.stdout.write(opts.output === 'json' ? renderJson(result) : summary(ctx, result));
    if (demo) {
      try {
        // Run by `npm run lab`, twill is not on the user's PATH: the hints say how to run it from the checkout.
        const fromNpm = ctx.io.env['npm_lifecycle_event'] === 'lab';
        await runDemonstration(result, ctx.io, {
          ...(opts.dir === undefined ? {} : { labDirOption: result.dir }),
          ...(fromNpm ? { twillCommand: 'node apps/cli/bin/twill.js' } : {}),
        });
      } catch (error) {
        throw new FailedError(ctx.command, '', `the lab is up in ${result.dir}, the demonstration failed: ${error instanceof Error ? error.message : String(error)} (twill lab down removes the lab)`, { cause: error });
      }
    }
    kit.state.exitCode = 0;
  });

  const status = lab
    .command('status')
    .description('the lab\'s nodes, whether each agent and its L7 proxy run (and why not), its BGP sessions, and the pods with their addresses')
    .addOption(dirOption())
    .addOption(withChoices(new Option('-o, --output <format>', 'table or json').default('table'), ['table', 'json']));
  examples(status, ['sudo twill lab status', 'sudo twill lab status -o json | jq .lab.pods']);
  status.action(async (opts: { dir?: string; output: string }, command: Command) => {
    const ctx = kit.context(command);
    if (opts.output !== 'table' && opts.output !== 'json') throw new UsageError(ctx.command, '--output', `must be one of table, json (got ${JSON.stringify(opts.output)})`);
    const dir = dirOf(ctx, opts.dir);
    try {
      const result = await labStatus(dir);
      if (result === undefined) throw new FailedError(ctx.command, '', `no lab is up in ${dir} (twill lab up starts one)`);
      ctx.io.stdout.write(opts.output === 'json' ? renderJson(result) : labStatusText(result, ctx.style));
      const healthy = result.nodes.every((n) => n.agentAlive) && (result.tor === undefined || result.tor.alive);
      kit.state.exitCode = healthy ? 0 : 1;
    } catch (error) {
      asCliError(ctx.command, error);
    }
  });

  const exec = lab
    .command('exec')
    .description('run a command in a pod\'s network namespace; its exit code is twill\'s')
    .usage('[options] POD -- CMD [ARGS...]')
    .argument('<POD>', 'the pod: NAME, or NAMESPACE/NAME when two namespaces have the name')
    .argument('<CMD...>', 'the command and its arguments (after --)')
    .addOption(dirOption());
  examples(exec, ['sudo twill lab exec pod-1-1 -- ip addr', 'sudo twill lab exec default/pod-2-1 -- curl -s -m 2 http://10.244.0.2:8080/']);
  exec.action(async (pod: string, argv: string[], opts: { dir?: string }, command: Command) => {
    const ctx = kit.context(command);
    const dir = dirOf(ctx, opts.dir);
    try {
      // A terminal gets the command's own streams (a shell works); otherwise its output is passed on.
      const interactive = ctx.io.stdout.isTTY;
      const result = await labExec(dir, pod, argv, { stdio: interactive ? 'inherit' : 'pipe' });
      if (!interactive) {
        ctx.io.stdout.write(result.stdout);
        ctx.io.stderr.write(result.stderr);
      }
      kit.state.exitCode = result.exitCode;
    } catch (error) {
      asCliError(ctx.command, error);
    }
  });

  const down = lab
    .command('down')
    .description('remove everything the lab made: processes, namespaces (with their links, routes and nft tables), files; safe to run twice or after a crash')
    .addOption(dirOption());
  examples(down, ['sudo twill lab down', 'sudo twill lab down --dir /tmp/lab2']);
  down.action(async (opts: { dir?: string }, command: Command) => {
    const ctx = kit.context(command);
    const dir = dirOf(ctx, opts.dir);
    try {
      const report = await labDown(dir);
      if (!report.wasUp) {
        ctx.io.stdout.write(`no lab in ${dir}: nothing to remove\n`);
        kit.state.exitCode = 0;
        return;
      }
      ctx.io.stdout.write(`removed ${report.removed.length} things of the lab in ${dir}${report.removed.length === 0 ? '' : `:\n${report.removed.map((r) => `  ${r}\n`).join('')}`}`);
      if (report.problems.length > 0) throw new FailedError(ctx.command, '', `could not remove: ${report.problems.join('; ')} (run twill lab down again)`);
      kit.state.exitCode = 0;
    } catch (error) {
      asCliError(ctx.command, error);
    }
  });
}
