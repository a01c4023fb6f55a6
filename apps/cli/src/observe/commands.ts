// `twill observe`: its options, help and examples.

import { type Command, Option } from 'commander';

import { examples, withChoices, type CommandKit } from '../command-kit.js';
import { defaultLabDir } from '../lab/sys/host-facts.js';
import { parsersFor } from '../options.js';
import { OBSERVE_PROTOCOLS, OBSERVE_VERDICTS, observeParsers } from './filters.js';
import { FLOWS_SERVER_ENV, runObserve, type ObserveOptions } from './observe.js';
import { OBSERVE_OUTPUTS } from './render.js';

/** Registers `twill observe`. */
export function registerObserveCommands(program: Command, kit: CommandKit): void {
  const p = observeParsers('observe');
  const many = p.append;
  const observe = program
    .command('observe')
    .description('the flows the agent saw: each policy verdict, and each HTTP request through its L7 proxy, with its endpoints and the deciding policy (Hubble\'s GetFlows); follow them live with -f')
    .option('--server <target>', `the observer: unix:///PATH or HOST:PORT (default: $${FLOWS_SERVER_ENV}, else unix:///run/twill/observer.sock)`)
    .addOption(new Option('--lab [dir]', 'every node of the lab (twill lab up), merged by time; DIR when the lab is not in the default folder'))
    .option('-f, --follow', 'keep printing new flows until Ctrl-C')
    .option('--last <n>', 'the newest N flows (default 20 without --follow or --since)', p.count('--last'))
    .option('--first <n>', 'the oldest N flows the observer still holds', p.count('--first'))
    .option('--since <time>', 'flows at or after TIME: 2026-11-28T19:00:00Z, or a time ago: 30s, 5m, 2h', p.since('--since', () => kit.io.now()))
    .addOption(withChoices(new Option('--verdict <verdict>', 'only flows with this verdict (repeatable)').argParser(many(p.verdict('--verdict'))), [...OBSERVE_VERDICTS]))
    .option('--from-pod <ns/pod>', 'flows from this pod; NAMESPACE/ for any pod of it, a name prefix matches too (repeatable)', many(p.pod('--from-pod')))
    .option('--to-pod <ns/pod>', 'flows to this pod (repeatable)', many(p.pod('--to-pod')))
    .option('--pod <ns/pod>', 'flows from or to this pod (repeatable)', many(p.pod('--pod')))
    .option('--from-ip <ip>', 'flows from this address or CIDR (repeatable)', many(p.ip('--from-ip')))
    .option('--to-ip <ip>', 'flows to this address or CIDR (repeatable)', many(p.ip('--to-ip')))
    .option('--port <n>', 'flows from or to this port (repeatable)', many(p.port('--port')))
    .addOption(withChoices(new Option('--protocol <protocol>', 'only this protocol (repeatable)').argParser(many(p.protocol('--protocol'))), [...OBSERVE_PROTOCOLS]))
    .option('--label <selector>', 'flows from or to endpoints with these labels: k8s:app=web, app in (a,b) (repeatable)', many(p.nonEmpty('--label', 'a label selector')))
    .option('--policy <ref>', 'flows this policy decided: Kind/namespace/name (Kind//name when cluster-wide), namespace/name or name (repeatable)', many(p.nonEmpty('--policy', 'a policy such as NetworkPolicy/shop/api or default-deny')))
    .option('--node <name>', 'flows seen on this node (repeatable)', many(p.nonEmpty('--node', 'a node name')))
    .option('--http-status <code>', 'L7 flows answered with this HTTP status: 404, or a prefix and +: 4+, 40+ (repeatable)', many(p.nonEmpty('--http-status', 'a status such as 404 or 4+')))
    .option('--http-method <method>', 'L7 flows with this HTTP method: GET, POST, any case (repeatable)', many(p.nonEmpty('--http-method', 'an HTTP method such as GET')))
    .option('--http-path <regex>', "L7 flows whose URL path matches this regular expression, anywhere unless anchored: '^/api/v1/' (repeatable)", many(p.nonEmpty('--http-path', 'a regular expression')))
    .option('--http-url <regex>', "L7 flows whose whole URL matches this regular expression: '^http://api\\.shop:8080/' (repeatable)", many(p.nonEmpty('--http-url', 'a regular expression')))
    .addOption(withChoices(new Option('-o, --output <format>', 'compact (one line a flow), table, or json (one Flow object a line)').argParser(parsersFor('observe').choice('--output', OBSERVE_OUTPUTS)).default('compact'), [...OBSERVE_OUTPUTS]));
  examples(observe, [
    'sudo twill observe',
    'sudo twill observe -f --verdict DROPPED',
    'sudo twill observe --pod shop/api --port 8080 --since 5m -o table',
    "sudo twill observe --http-method GET --http-path '/api/.*' --http-status 403",
    'sudo twill observe --lab --from-pod production/frontend --last 50',
    'sudo twill observe --server 127.0.0.1:4245 -o json | jq .decidedBy',
  ]);
  observe.action(async (opts: ObserveOptions, command: Command) => {
    kit.state.exitCode = await runObserve(kit.context(command), opts, defaultLabDir);
  });
}
