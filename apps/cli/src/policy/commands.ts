// `twill policy simulate`, `twill policy lint` and `twill policy explain`: their options, help and examples.

import { type Command, Option } from 'commander';

import { addAgentSocketOption } from '../client/index.js';
import { examples, group, withChoices, type CommandKit } from '../command-kit.js';
import { UsageError } from '../errors.js';
import { defaultLabDir } from '../lab/sys/host-facts.js';
import { FLOWS_SERVER_ENV } from '../observe/observe.js';
import { parsersFor } from '../options.js';
import { type OutputFormat } from '../output.js';
import { runExplain } from './explain.js';
import { runExplainFlow } from './explain-flow.js';
import { runLint } from './lint.js';
import { runSimulate } from './simulate.js';

/** Registers `twill policy`. */
export function registerPolicyCommands(program: Command, kit: CommandKit): void {
  // policy
  const policy = group(program, 'policy', 'simulate and lint network policies (Kubernetes, Calico, Cilium) offline; explain a verdict of the live cluster');
  examples(policy, ['twill policy simulate --cluster cluster.yaml --policies policies/ --from x/a --to y/b --port 80', 'twill policy lint policies/', 'sudo twill policy explain --from x/a --to y/b --port 80', 'sudo twill policy explain --flow 3f6c1e52-9a0b-4c8e-8f00-2b7d1c9a4e10']);
  {
    const p = parsersFor('policy simulate');
    const outputs: OutputFormat[] = ['table', 'wide', 'json', 'yaml'];
    const simulate = policy
      .command('simulate')
      .description('the verdict of probes between pods of a cluster snapshot under a set of policies: offline, no agent, no root')
      .option('--cluster <file>', '(required) YAML of Namespace and Pod objects as Kubernetes writes them (kubectl get ns,pods -A -o yaml)')
      .option('--policies <path...>', '(required) policy files or folders (.yaml, .yml, .json), any of the three dialects')
      .option('--from <ns/pod>', 'the client pod of one probe', p.pod('--from'))
      .option('--to <ns/pod>', 'the server pod of one probe', p.pod('--to'))
      .option('--port <n>', 'the destination port of one probe', p.port('--port'))
      .addOption(withChoices(new Option('--protocol <protocol>', 'the protocol of one probe (default TCP)').argParser(p.protocol('--protocol')), ['TCP', 'UDP', 'SCTP']))
      .option('--matrix', 'probe every ordered pair of distinct pods')
      .option('--ports <list>', 'with --matrix: ports to probe, comma-separated (default: every containerPort the pods declare)', p.ports('--ports'))
      .option('--protocols <list>', 'with --matrix: protocols, comma-separated (default TCP)', p.protocols('--protocols'))
      .addOption(withChoices(new Option('-o, --output <format>', 'table, wide, json or yaml').argParser(p.choice('--output', outputs)).default('table'), outputs));
    examples(simulate, [
      'twill policy simulate --cluster cluster.yaml --policies policies/ --from x/a --to y/b --port 80',
      'twill policy simulate --cluster cluster.yaml --policies deny.yaml allow.yaml --from x/a --to y/b --port 53 --protocol UDP -o json',
      'twill policy simulate --cluster cluster.yaml --policies policies/ --matrix --ports 80,81 --protocols TCP,UDP',
      'kubectl get namespaces,pods -A -o yaml > cluster.yaml   # a snapshot of a live cluster',
    ]);
    simulate.action(async (opts: Parameters<typeof runSimulate>[1], command: Command) => {
      kit.state.exitCode = await runSimulate(kit.context(command), opts);
    });

    const l = parsersFor('policy lint');
    const lint = policy
      .command('lint')
      .description('validate policy documents and find rules that never match, shadowed rules, Allow/Deny overlaps and policies that select nothing')
      .argument('<PATH...>', 'policy files or folders')
      .option('--cluster <file>', 'also report policies that select none of this snapshot\'s pods')
      .option('--strict', 'warnings fail too (exit 1)')
      .addOption(withChoices(new Option('-o, --output <format>', 'table, wide, json or yaml').argParser(l.choice('--output', outputs)).default('table'), outputs));
    examples(lint, ['twill policy lint policies/', 'twill policy lint --strict --cluster cluster.yaml policies/ -o json']);
    lint.action(async (paths: string[], opts: Parameters<typeof runLint>[2], command: Command) => {
      kit.state.exitCode = await runLint(kit.context(command), paths, opts);
    });

    const e = parsersFor('policy explain');
    const explain = addAgentSocketOption(policy
      .command('explain')
      .description('the verdict of one probe in the live cluster (through the agent), or of one flow the agent saw (--flow): the deciding policy and rule, and the stored object it came from')
      .option('--from <ns/pod>', '(required without --flow) the client pod', e.pod('--from'))
      .option('--to <ns/pod>', '(required without --flow) the server pod', e.pod('--to'))
      .option('--port <n>', '(required without --flow) the destination port', e.port('--port'))
      .option('--flow <id>', 'instead of a probe: the flow with this UUID (twill observe -o json shows it), from the observer')
      .option('--server <target>', `with --flow: the observer, unix:///PATH or HOST:PORT (default: $${FLOWS_SERVER_ENV}, else unix:///run/twill/observer.sock)`)
      .addOption(new Option('--lab [dir]', "with --flow: look for the flow on every node of the lab (twill lab up) and read the policies from that node's agent; DIR when the lab is not in the default folder"))
      .addOption(withChoices(new Option('--protocol <protocol>', 'the protocol (default TCP)').argParser(e.protocol('--protocol')), ['TCP', 'UDP', 'SCTP']))
      .addOption(withChoices(new Option('-o, --output <format>', 'table, wide, json or yaml').argParser(e.choice('--output', outputs)).default('table'), outputs)));
    examples(explain, [
      'sudo twill policy explain --from shop/frontend --to shop/api --port 8080',
      'sudo twill policy explain --from dev/tool --to shop/db --port 5432 -o json',
      'sudo twill policy explain --from x/a --to y/b --port 53 --protocol UDP',
      'sudo twill policy explain --flow 3f6c1e52-9a0b-4c8e-8f00-2b7d1c9a4e10',
      'sudo twill policy explain --lab --flow 3f6c1e52-9a0b-4c8e-8f00-2b7d1c9a4e10',
    ]);
    explain.action(async (opts: Parameters<typeof runExplain>[1] & { flow?: string; server?: string; lab?: string | true }, command: Command) => {
      const ctx = kit.context(command);
      if (opts.flow === undefined) {
        if (opts.server !== undefined) throw new UsageError(ctx.command, '--server', 'only with --flow (a probe is evaluated by the agent, not read from the observer)');
        if (opts.lab !== undefined) throw new UsageError(ctx.command, '--lab', 'only with --flow (a probe is evaluated by one agent: --agent-socket names it)');
        kit.state.exitCode = await runExplain(ctx, opts);
        return;
      }
      for (const [flag, value] of [['--from', opts.from], ['--to', opts.to], ['--port', opts.port], ['--protocol', opts.protocol]] as const) {
        if (value !== undefined) throw new UsageError(ctx.command, flag, 'cannot be used with --flow (the flow names its endpoints)');
      }
      kit.state.exitCode = await runExplainFlow(ctx, { ...opts, flow: opts.flow }, defaultLabDir);
    });
  }
}
