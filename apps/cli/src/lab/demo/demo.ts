// The lab's demonstration, run by `twill lab up` once the lab is up: servers in the pods
// playing the seed tutorial's roles, then the tutorial's policies applied one at a time,
// and after each step the connectivity matrix the pods see beside what
// `twill policy simulate` predicts for the same snapshot and policies, HTTP probes where
// an L7 rule applies (what each got beside what the rule decides: the agents' L7 proxies
// enforce it), and the flows every node's agent recorded during the step (forwarded and
// dropped, what dropped them, and the HTTP requests the proxies saw).

import { posix } from 'node:path';

import { createAgentClient, type AgentResource } from '../../client/index.js';
import { type CliIo } from '../../io.js';
import { renderTable, styleFor, type Style } from '../../output.js';
import { describeDecision, type ProbeJson } from '../../policy/probe.js';
import { runSimulate } from '../../policy/simulate.js';
import { type Lab, type LabNode, type LabPod } from '../ports.js';
import { readStepFlows, stepFlowsText, type StepFlowSummary } from './flows.js';
import { engineSnapshot, expectedHttpAnswer, httpAnswerAgrees, httpRequestAllowed, httpRulesOf, renderHttpProbes, yamlDocuments, type HttpProbeReport } from './l7.js';
import { renderMatrix, disagreements, type ConnectivityMatrix, type MatrixCell, type MatrixTarget, type Verdict } from './matrix.js';
import { DEMO_NAMESPACES, roleOf, ROLE_SERVICES } from './roles.js';
import { labSnapshotYaml } from './snapshot.js';
import { DEMO_STEPS, type DemoStep } from './steps.js';
import { type DemoSystem, type PodProbe, type ServerRecord } from './system-port.js';
import { nodeDemoSystem } from './sys/system.js';

/** Options of {@link runDemonstration}. */
export interface DemoOptions {
  /** The machine (default: sys/system.ts's `nodeDemoSystem()`). */
  readonly system?: DemoSystem;
  /** The steps (default {@link DEMO_STEPS}). */
  readonly steps?: readonly DemoStep[];
  /** How long a probe waits for a connection, in milliseconds (default 800). */
  readonly probeTimeoutMs?: number;
  /** How long after an apply the probes may take to agree with simulate, in milliseconds (default 10 000). */
  readonly settleTimeoutMs?: number;
  /**
   * Applies a step's documents and resolves when the agents have taken them in
   * (default: {@link applyThroughAgents}); returns lines to print (problems the agents report).
   */
  readonly apply?: (documents: readonly AgentResource[]) => Promise<readonly string[] | void>;
  /** The lab's folder as `twill lab` commands need it (`--dir`), when not their default. */
  readonly labDirOption?: string;
  /** How the hints at the end invoke twill (default `twill`; `node apps/cli/bin/twill.js` in a checkout). */
  readonly twillCommand?: string;
  /** Reads every node's flows since a wall-clock time (default {@link readStepFlows} through `io`'s observer clients). */
  readonly readFlows?: (nodes: readonly LabNode[], sinceMs: number) => Promise<StepFlowSummary>;
}

/**
 * Applies `documents` through the API of the lab's first node (API.md `POST
 * /v1/resources`; the agents share the datastore), then waits until every node's policy
 * controller counts a different number of policies than before (it has read the change),
 * at most `timeoutMs`. Returns the problems the agents report (a failed apply, a
 * document their index refused), one line each.
 * @throws the client's CliError when the agent refuses the documents or does not answer.
 */
export async function applyThroughAgents(lab: Lab, io: CliIo, documents: readonly AgentResource[], options: { timeoutMs: number; system: DemoSystem }): Promise<string[]> {
  const clients = lab.nodes.map((node) => createAgentClient({ transport: io.agentTransport(node.apiSocket), socketPath: node.apiSocket, command: 'lab up' }));
  const first = clients[0];
  if (first === undefined) throw new Error('the lab has no node to apply policies through');
  const count = async (client: (typeof clients)[number]): Promise<number | undefined> => (await client.status()).controllers.policy?.policies;
  const before = await Promise.all(clients.map(count));
  await first.apply(documents);
  const deadline = options.system.now() + options.timeoutMs;
  for (;;) {
    const statuses = await Promise.all(clients.map((client) => client.status()));
    const caughtUp = statuses.every((status, i) => status.controllers.policy === undefined || status.controllers.policy.policies !== before[i]);
    if (caughtUp || options.system.now() >= deadline) {
      return statuses.flatMap((status) => {
        const policy = status.controllers.policy;
        if (policy === undefined) return [];
        return [
          ...(policy.lastApplyError === undefined ? [] : [`${status.node}: the dataplane refused the last change: ${policy.lastApplyError}`]),
          ...policy.problems.map((problem) => `${status.node}: ${problem}`),
          ...(caughtUp ? [] : [`${status.node}: its policy controller had not read the change after ${options.timeoutMs} ms`]),
        ];
      });
    }
    await options.system.sleep(100);
  }
}

/** What one step showed. */
export interface DemoStepReport {
  readonly step: DemoStep | undefined;
  readonly matrix: ConnectivityMatrix;
  /** Milliseconds from the apply until the probes agreed with simulate; undefined when they never did. */
  readonly agreedAfterMs: number | undefined;
  /** The HTTP probes where an L7 rule applies: what each got and what the rules decide (empty when no rule applies). */
  readonly http: readonly HttpProbeReport[];
  /** The flows the nodes' agents recorded during the step (absent for a lab without nodes). */
  readonly flows?: StepFlowSummary;
}

/** What the demonstration did. */
export interface DemoReport {
  readonly servers: readonly ServerRecord[];
  /** The snapshot `twill policy simulate --cluster` reads. */
  readonly snapshotFile: string;
  /** Step 0 (no policy) first. */
  readonly steps: readonly DemoStepReport[];
}

/** The demonstration's files in a lab's folder. */
export function demoFiles(labDir: string): { dir: string; snapshot: string; servers: string; logs: string; sockets: string } {
  const dir = posix.join(labDir, 'demo');
  return { dir, snapshot: posix.join(dir, 'cluster.yaml'), servers: posix.join(dir, 'servers.json'), logs: posix.join(dir, 'logs'), sockets: posix.join(dir, 'probe') };
}

const podName = (pod: Pick<LabPod, 'namespace' | 'name'>): string => `${pod.namespace}/${pod.name}`;

/** The pods that play a role, and each one's served port. */
function rolePods(pods: readonly LabPod[]): { pod: LabPod; role: string; port: number }[] {
  return pods.flatMap((pod) => {
    const role = roleOf(pod.labels);
    return role === undefined ? [] : [{ pod, role, port: ROLE_SERVICES[role].port }];
  });
}

/**
 * Starts every role pod's server (all at once) and records their PIDs in
 * `<labDir>/demo/servers.json` (what `lab down` stops).
 */
export async function startDemoServers(pods: readonly LabPod[], labDir: string, system: DemoSystem): Promise<ServerRecord[]> {
  const files = demoFiles(labDir);
  const settled = await Promise.allSettled(rolePods(pods).map(({ pod, role, port }) =>
    system.startServer({
      netns: pod.netns, pod: podName(pod), role, port,
      controlSocket: posix.join(files.sockets, `${pod.namespace}.${pod.name}.sock`),
      logFile: posix.join(files.logs, `${pod.namespace}.${pod.name}.log`),
    })));
  const servers = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  await system.writeText(files.servers, `${JSON.stringify({ servers }, null, 2)}\n`);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
  return servers;
}

/** What a probe saw between two pods. */
export interface ObservedProbe {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly observed: Verdict;
  readonly detail?: string;
}

// The server of a pod: it probes from inside the pod.
function serverOf(servers: readonly ServerRecord[], pod: LabPod): ServerRecord {
  const server = servers.find((s) => s.pod === podName(pod));
  if (server === undefined) throw new Error(`no server runs in ${podName(pod)}`);
  return server;
}

/**
 * Probes every ordered pair of role pods on the target's port: each source pod's
 * server makes its row's connections at once, all rows at once.
 */
export async function probeMatrix(pods: readonly LabPod[], servers: readonly ServerRecord[], system: DemoSystem, timeoutMs: number): Promise<ObservedProbe[]> {
  const roles = rolePods(pods);
  const perSource = await Promise.all(roles.map(async ({ pod: from }) => {
    const targets = roles.filter(({ pod }) => pod !== from);
    const probes: PodProbe[] = targets.map(({ pod, port }) => ({ address: pod.address, port }));
    const results = await system.probe(serverOf(servers, from), probes, timeoutMs);
    return targets.map(({ pod, port }, i): ObservedProbe => {
      const result = results[i];
      const connected = result?.connected === true;
      return { from: podName(from), to: podName(pod), port, observed: connected ? 'allow' : 'deny', ...(connected ? {} : { detail: result?.error ?? 'no result' }) };
    });
  }));
  return perSource.flat();
}

/** What simulate predicts for a pair: its verdict and what decided it. */
export interface PredictedProbe {
  readonly verdict: Verdict;
  readonly decidedBy: string;
}

const probeKey = (from: string, to: string, port: number): string => `${from}>${to}:${port}`;

/**
 * `twill policy simulate --cluster SNAPSHOT --policies FILES... --matrix -o json`, run
 * in-process, as predictions by pair and port.
 * @throws the CliError simulate reports (a policy that does not compile, say).
 */
export async function predictMatrix(io: CliIo, snapshotFile: string, policyFiles: readonly string[]): Promise<Map<string, PredictedProbe>> {
  let out = '';
  const capture: CliIo = { ...io, stdout: { write: (text) => void (out += text), isTTY: false } };
  await runSimulate({ io: capture, style: styleFor(capture), command: 'policy simulate' }, { cluster: snapshotFile, policies: policyFiles, matrix: true, output: 'json' });
  const { probes } = JSON.parse(out) as { probes: ProbeJson[] };
  return new Map(probes.map((p) => [probeKey(p.from, p.to, p.port), { verdict: p.verdict, decidedBy: describeDecision(p.decidedBy) }]));
}

/** The matrix of role pods from what the probes saw and what simulate predicts (pods in lab order). */
export function buildMatrix(pods: readonly LabPod[], observed: readonly ObservedProbe[], predicted: ReadonlyMap<string, PredictedProbe>): ConnectivityMatrix {
  const roles = rolePods(pods);
  const targets: MatrixTarget[] = roles.map(({ pod, port }) => ({ pod: podName(pod), port }));
  const cells = observed.map((o): MatrixCell => {
    const p = predicted.get(probeKey(o.from, o.to, o.port));
    return { ...o, predicted: p?.verdict ?? 'allow', decidedBy: p?.decidedBy ?? 'simulate gave no verdict for this pair' };
  });
  return { pods: roles.map(({ pod }) => podName(pod)), targets, cells };
}

/** The paths an HTTP probe asks for: one the tutorial's L7 rule admits, one it does not. */
export const HTTP_PROBE_PATHS = ['/api/v1/products', '/admin/users'] as const;

/**
 * HTTP GETs of {@link HTTP_PROBE_PATHS} between the pairs an L7 rule applies to, each
 * with what it got and what the rules decide: simulate's L3/L4 verdict for the pair
 * (`predicted`), then the HTTP rule's.
 */
async function probeHttp(pods: readonly LabPod[], servers: readonly ServerRecord[], clusterYaml: string, documents: readonly unknown[], predicted: ReadonlyMap<string, PredictedProbe>, system: DemoSystem, timeoutMs: number): Promise<HttpProbeReport[]> {
  const snapshot = engineSnapshot(clusterYaml, documents);
  const roles = rolePods(pods);
  const pairs = roles.flatMap(({ pod: from }) => roles.flatMap(({ pod: to, role, port }) => {
    if (from === to || ROLE_SERVICES[role as keyof typeof ROLE_SERVICES].protocol !== 'http') return [];
    const rules = httpRulesOf(snapshot, from, to, port);
    return rules === undefined ? [] : [{ from, to, port, rules }];
  }));
  const perPair = await Promise.all(pairs.map(async ({ from, to, port, rules }) => {
    const results = await system.probe(serverOf(servers, from), HTTP_PROBE_PATHS.map((path) => ({ address: to.address, port, http: { path } })), timeoutMs);
    const l4 = predicted.get(probeKey(podName(from), podName(to), port));
    const connectionAllowed = (l4?.verdict ?? 'allow') === 'allow';
    return HTTP_PROBE_PATHS.map((path, i): HttpProbeReport => {
      const result = results[i];
      const ruleAdmits = httpRequestAllowed(rules.rules, { method: 'GET', path });
      const expected = expectedHttpAnswer(connectionAllowed, ruleAdmits);
      return {
        from: podName(from), to: podName(to), port, method: 'GET', path, policies: rules.policies, ruleAdmits,
        connectionAllowed, connectionDecidedBy: l4?.decidedBy ?? 'simulate gave no verdict for this pair',
        ...(result?.status === undefined ? { error: result?.error ?? 'no result' } : { status: result.status, ...(result.body === undefined ? {} : { body: result.body }) }),
        expected, agrees: httpAnswerAgrees(expected, result?.status),
      };
    });
  }));
  return perPair.flat();
}

/**
 * Probes until the matrix agrees with `predicted` or `settleTimeoutMs` has passed since
 * `since`; returns the last matrix and when it agreed.
 */
async function settle(pods: readonly LabPod[], servers: readonly ServerRecord[], predicted: ReadonlyMap<string, PredictedProbe>, since: number, options: { probeTimeoutMs: number; settleTimeoutMs: number; system: DemoSystem }): Promise<{ matrix: ConnectivityMatrix; agreedAfterMs: number | undefined }> {
  const { system } = options;
  for (;;) {
    const matrix = buildMatrix(pods, await probeMatrix(pods, servers, system, options.probeTimeoutMs), predicted);
    const elapsed = system.now() - since;
    if (disagreements(matrix).length === 0) return { matrix, agreedAfterMs: elapsed };
    if (elapsed >= options.settleTimeoutMs) return { matrix, agreedAfterMs: undefined };
    await system.sleep(250);
  }
}

/**
 * A step's flows once the agents have taken in its last probes' events: read until two
 * reads 200 ms apart count the same (at most 2 s), since the kernel's events reach the
 * observers a little after the probes end.
 */
async function quietFlows(read: () => Promise<StepFlowSummary>, system: DemoSystem): Promise<StepFlowSummary> {
  const total = (s: StepFlowSummary): number => s.forwarded + s.dropped + s.lost + s.pairs.length + s.requests.reduce((n, r) => n + r.requests, 0);
  let last = await read();
  for (let i = 0; i < 10; i += 1) {
    await system.sleep(200);
    const next = await read();
    if (total(next) === total(last) && next.problems.length === last.problems.length) return next;
    last = next;
  }
  return last;
}

/**
 * Runs the demonstration on `lab` and writes it to `io.stdout` (colour only on a
 * terminal): the servers, the matrix with no policy, then each step's matrix.
 * Disagreements with simulate are printed loudly and reported, never thrown.
 * @throws Error when a server does not start, the prober cannot run, or the agent refuses a policy.
 */
export async function runDemonstration(lab: Lab, io: CliIo, options: DemoOptions): Promise<DemoReport> {
  const system = options.system ?? nodeDemoSystem();
  const style = styleFor(io);
  const write = (text: string): void => io.stdout.write(text);
  const probeTimeoutMs = options.probeTimeoutMs ?? 800;
  const settleTimeoutMs = options.settleTimeoutMs ?? 10_000;
  const apply = options.apply ?? ((documents: readonly AgentResource[]) => applyThroughAgents(lab, io, documents, { timeoutMs: settleTimeoutMs, system }));
  const files = demoFiles(lab.dir);
  const readFlows = options.readFlows ?? ((nodes: readonly LabNode[], sinceMs: number) => readStepFlows(io, nodes, sinceMs));

  if (rolePods(lab.pods).length < 2) {
    write(`No demonstration: it needs at least two pods of the tutorial's roles (this lab has ${rolePods(lab.pods).length}; the five roles need five pods).\n`);
    return { servers: [], snapshotFile: files.snapshot, steps: [] };
  }
  const servers = await startDemoServers(lab.pods, lab.dir, system);
  const podOf = new Map(lab.pods.map((p) => [podName(p), p]));
  write(`${style.bold('Servers in the pods, playing the seed tutorial\'s roles')}\n`);
  write(renderTable(
    [{ header: 'POD' }, { header: 'ROLE' }, { header: 'SERVES' }, { header: 'ADDRESS' }, { header: 'NODE' }],
    servers.map((s) => [s.pod, s.role, `${ROLE_SERVICES[s.role as keyof typeof ROLE_SERVICES].protocol.toUpperCase()} :${s.port}`, podOf.get(s.pod)?.address ?? '', podOf.get(s.pod)?.node ?? '']),
    style,
  ));
  const clusterYaml = labSnapshotYaml(lab.pods, DEMO_NAMESPACES);
  await system.writeText(files.snapshot, clusterYaml);

  const steps = options.steps ?? DEMO_STEPS;
  const reports: DemoStepReport[] = [];
  const applied: string[] = [];
  const documents: unknown[] = [];
  for (let index = 0; index <= steps.length; index += 1) {
    const step = index === 0 ? undefined : steps[index - 1];
    const started = system.now();
    // The flows' times are the wall clock's: the step's flows are those at or after this.
    const startedAt = io.now();
    if (step === undefined) {
      write(`\n${style.bold(`Step 0 of ${steps.length}: no policy`)}\n  Every pod reaches every other pod's server.\n`);
    } else {
      const file = posix.join(system.policiesDir, step.file);
      const stepDocuments = yamlDocuments(await system.readText(file));
      const problems = (await apply(stepDocuments as AgentResource[])) ?? [];
      applied.push(file);
      documents.push(...stepDocuments);
      write(`\n${style.bold(`Step ${index} of ${steps.length}: ${step.title}`)}${step.fromTutorial ? ' (the seed tutorial)' : ' (Twill\'s, not in the tutorial)'}\n`);
      write(step.says.map((line) => `  ${line}\n`).join(''));
      for (const problem of problems) write(`  ${style.bold(style.bad(`!! ${problem}`))}\n`);
    }
    const predicted = await predictMatrix(io, files.snapshot, applied);
    const { matrix, agreedAfterMs } = await settle(lab.pods, servers, predicted, started, { system, probeTimeoutMs, settleTimeoutMs });
    const waited = `${(settleTimeoutMs / 1000).toFixed(0)} s`;
    write(`  ${agreedAfterMs === undefined
      ? style.bold(style.bad(`the probes still disagree with simulate ${step === undefined ? `after ${waited} of probing` : `${waited} after the apply`}`))
      : `the probes agree with simulate${step === undefined ? '' : ` (${(agreedAfterMs / 1000).toFixed(1)} s after the apply)`}`}\n\n`);
    write(renderMatrix(matrix, style));
    // The proxies' redirect may follow the L3/L4 rules by a moment: probe again while the
    // answers differ from the rules, within the step's settle time.
    let http = await probeHttp(lab.pods, servers, clusterYaml, documents, predicted, system, probeTimeoutMs);
    while (http.some((probe) => !probe.agrees) && system.now() - started < settleTimeoutMs) {
      await system.sleep(250);
      http = await probeHttp(lab.pods, servers, clusterYaml, documents, predicted, system, probeTimeoutMs);
    }
    if (http.length > 0) write(`\n${renderHttpProbes(http, style)}`);
    if (applied.length > 0) write(`${style.dim(`simulate it: twill policy simulate --cluster ${files.snapshot} --policies ${applied.join(' ')} --matrix`)}\n`);
    const flows = lab.nodes.length === 0 ? undefined : await quietFlows(() => readFlows(lab.nodes, startedAt), system);
    if (flows !== undefined) write(`\n${stepFlowsText(flows, style)}`);
    reports.push({ step, matrix, agreedAfterMs, http, ...(flows === undefined ? {} : { flows }) });
  }
  write(`\n${exploreText(lab, {
    policiesDir: system.policiesDir,
    snapshotFile: files.snapshot,
    twill: options.twillCommand ?? 'twill',
    ...(options.labDirOption === undefined ? {} : { labDirOption: options.labDirOption }),
  }, style)}`);
  return { servers, snapshotFile: files.snapshot, steps: reports };
}

/** What to try next, with the lab's own pods, addresses and sockets. */
export function exploreText(lab: Lab, where: { policiesDir: string; snapshotFile: string; twill: string; labDirOption?: string }, style: Style): string {
  const { twill } = where;
  const dirFlag = where.labDirOption === undefined ? '' : ` --dir ${where.labDirOption}`;
  const find = (namespace: string, name: string): LabPod | undefined => lab.pods.find((p) => p.namespace === namespace && p.name === name);
  const frontend = find('production', 'frontend');
  const apiServer = find('production', 'api-server');
  const web = find('default', 'web');
  const api = find('default', 'api');
  const socket = lab.nodes[0]?.apiSocket;
  const agent = socket === undefined ? '' : ` --agent-socket ${socket}`;
  const lines: string[] = [];
  if (frontend !== undefined && apiServer !== undefined) {
    lines.push(`${twill} lab exec${dirFlag} production/frontend -- curl -s -m 2 http://${apiServer.address}:8080/api/v1/products`);
  }
  if (web !== undefined && api !== undefined) {
    lines.push(`${twill} lab exec${dirFlag} default/web -- curl -s -m 2 http://${api.address}:8080/admin/users   # l7-api-policy's HTTP rule refuses it: the agent's L7 proxy answers 403`);
  }
  if (frontend !== undefined && apiServer !== undefined) {
    lines.push(`${twill} policy explain${agent} --from production/frontend --to production/api-server --port 8080`);
  }
  lines.push(
    `${twill} observe --lab${where.labDirOption === undefined ? '' : ` ${where.labDirOption}`} --verdict DROPPED --last 10   # the flows the agents recorded; -f follows them`,
    `${twill} observe --lab${where.labDirOption === undefined ? '' : ` ${where.labDirOption}`} --protocol http --last 10   # the HTTP requests the agents' L7 proxies saw, with their status`,
    `${twill} policy simulate --cluster ${where.snapshotFile} --policies ${where.policiesDir} --matrix`,
    `${twill} bgp routes${agent}`,
    `${twill} lab status${dirFlag}`,
  );
  return `${style.bold('Explore')}\n${lines.map((l) => `  ${l}\n`).join('')}${style.bold('Tear down')}\n  ${twill} lab down${dirFlag}\n`;
}
