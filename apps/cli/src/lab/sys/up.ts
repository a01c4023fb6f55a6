// `twill lab up`: the fabric and namespaces, the ToR, the plugin, one twill-agent per
// node, the resources, the pods through real CNI ADDs, and BGP converged. Steps that do
// not depend on each other run at the same time; the state file records what exists
// before `down` would need to know.

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { posix } from 'node:path';

import { CniRuntime, fileResultCache, loadNetworkConfigListFromDir, nodePluginExec, resultToJson } from '@twill/cni-core';

import { LAB_ERROR_CODE, LabError } from '../errors.js';
import { agentConfigText, birdConfigText, blockOf, conflistForNode, fabricBatch, LAB_ADDRESSING, labResources, type LabPlan, type NodePlan, planLab, planNamespaces, type PodPlan, uplinkBatch } from '../plan.js';
import { type Lab, type LabIo, type LabNode, type LabPod, type LabSpec, type LabTor } from '../ports.js';
import { BIRD_PATH, validateLabSpec } from '../spec.js';
import { LAB_STATE_VERSION, type LabProcessRecord } from '../state.js';
import { applyResources } from './agent-api.js';
import { installCni, startAgent, waitForAgent } from './agents.js';
import { labDown } from './down.js';
import { killPid, mustRun, processAlive, processStartTime, runCommand, sleep, startDetached, writeFileAtomic } from './host.js';
import { LabStateWriter, readLabState } from './state-file.js';

/** How long an agent may take to serve its sockets (sources compiled by tsx on a loaded machine). */
const AGENT_START_TIMEOUT_MS = 120_000;
/** How long BGP may take to give every node every other node's block. */
const CONVERGENCE_TIMEOUT_MS = 60_000;

/** A step's progress reports: started now, then done or failed with the time since `up` began. */
class Steps {
  readonly #start = Date.now();
  constructor(private readonly io: LabIo) {}

  async run<T>(step: string, work: () => Promise<T>, detail?: (value: T) => string): Promise<T> {
    this.io.progress({ step, state: 'started' });
    try {
      const value = await work();
      this.io.progress({ step, state: 'done', elapsedMs: Date.now() - this.#start, ...(detail === undefined ? {} : { detail: detail(value) }) });
      return value;
    } catch (error) {
      this.io.progress({ step, state: 'failed', elapsedMs: Date.now() - this.#start, detail: error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error) });
      throw error;
    }
  }
}

async function recordProcess(state: LabStateWriter, pid: number, what: string): Promise<LabProcessRecord> {
  // The start time read now is the process's own: `ip netns exec` and `sh -c ... exec` keep the PID.
  const record: LabProcessRecord = { pid, startTime: (await processStartTime(pid)) ?? '?', what };
  if (state.closed) {
    // `up` failed and `down` has the state file already: this late process is not in it.
    killPid(pid);
    throw new LabError(LAB_ERROR_CODE.STEP_FAILED, `${what} started after the lab was being removed`);
  }
  await state.update((s) => ({ ...s, processes: [...s.processes, record] }));
  return record;
}

async function makeNamespaces(plan: LabPlan): Promise<void> {
  await mustRun('adding the namespaces', 'ip', ['-batch', '-'], { input: planNamespaces(plan).map((name) => `netns add ${name}\n`).join('') });
  await mustRun('making the fabric', 'ip', ['-n', plan.fabric.netns, '-batch', '-'], { input: fabricBatch(plan) });
  const uplinks = [...plan.nodes.map((n) => ({ netns: n.netns, address: n.address })), ...(plan.tor === undefined ? [] : [{ netns: plan.tor.netns, address: plan.tor.address }])];
  await Promise.all([
    ...uplinks.map((u) => mustRun(`addressing ${u.netns}`, 'ip', ['-n', u.netns, '-batch', '-'], { input: uplinkBatch(u.address) })),
    plan.pods.length === 0 ? Promise.resolve('') : mustRun('loopback up in the pods', 'ip', ['-batch', '-'], { input: plan.pods.map((p) => `netns exec ${p.netns} ip link set lo up\n`).join('') }),
  ]);
}

async function startTor(plan: LabPlan, state: LabStateWriter): Promise<LabTor> {
  const tor = plan.tor;
  if (tor === undefined) throw new Error('startTor: no ToR planned');
  await mkdir(tor.dir, { recursive: true });
  await writeFile(tor.configFile, birdConfigText(plan));
  // -f: in the foreground of its own session, so its PID is the one started (no pid file to trust).
  const pid = await startDetached('ip', ['netns', 'exec', tor.netns, BIRD_PATH, '-f', '-c', tor.configFile, '-s', tor.controlSocket], posix.join(tor.dir, 'bird.out'));
  const record = await recordProcess(state, pid, 'bird (ToR)');
  const deadline = Date.now() + 15_000;
  while ((await runCommand('birdc', ['-s', tor.controlSocket, 'show', 'status'])).code !== 0) {
    if (!(await processAlive(record))) throw new LabError(LAB_ERROR_CODE.STEP_FAILED, `bird exited while starting (config ${tor.configFile}, log ${tor.logFile})`);
    if (Date.now() > deadline) throw new LabError(LAB_ERROR_CODE.STEP_FAILED, `bird did not answer on ${tor.controlSocket} within 15 s`);
    await sleep(50);
  }
  return { kind: 'bird', netns: tor.netns, address: tor.address, asNumber: LAB_ADDRESSING.asNumber, pid, controlSocket: tor.controlSocket, configFile: tor.configFile };
}

async function addPod(plan: LabPlan, pod: PodPlan): Promise<string> {
  const node = pod.node;
  const runtime = new CniRuntime({
    path: [plan.binDir],
    // The plugin runs inside the node's namespace: the forwarder reaches the node's agent on its
    // socket, and the standalone fallback (no agent answering) plumbs there, never on the host.
    exec: nodePluginExec({ baseEnv: { ...process.env, TWILL_AGENT_SOCKET: node.agentSocket }, command: (file) => ({ file: 'ip', args: ['netns', 'exec', node.netns, file] }) }),
    cache: fileResultCache(plan.cacheDir),
    timeoutMs: 60_000,
  });
  const list = await loadNetworkConfigListFromDir(LAB_ADDRESSING.network, node.confDir);
  let result;
  try {
    result = await runtime.add(list, {
      containerId: pod.containerId,
      netns: `/run/netns/${pod.netns}`,
      ifName: 'eth0',
      args: [
        ['K8S_POD_NAMESPACE', pod.spec.namespace],
        ['K8S_POD_NAME', pod.spec.name],
      ],
    });
  } catch (error) {
    throw new LabError(LAB_ERROR_CODE.STEP_FAILED, `CNI ADD of pod ${pod.spec.namespace}/${pod.spec.name} on ${node.name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const ips = (resultToJson(result) as { ips?: { address?: string }[] }).ips ?? [];
  const address = ips.map((ip) => ip.address?.split('/')[0] ?? '').find((a) => a.includes('.'));
  if (address === undefined) throw new LabError(LAB_ERROR_CODE.STEP_FAILED, `CNI ADD of pod ${pod.spec.namespace}/${pod.spec.name}: no IPv4 address in the result`);
  return address;
}

/** The blocks each node lacks a kernel route to (BGP-learned, in the node's namespace). */
async function missingRoutes(plan: LabPlan, blocks: ReadonlyMap<string, string>): Promise<Map<string, string[]>> {
  const missing = new Map<string, string[]>();
  await Promise.all(
    plan.nodes.map(async (node) => {
      const out = await mustRun(`reading ${node.name}'s routes`, 'ip', ['-n', node.netns, '-j', 'route', 'show', 'proto', 'bgp']);
      const have = new Set((JSON.parse(out === '' ? '[]' : out) as { dst: string }[]).map((r) => r.dst));
      const lacking = [...blocks].filter(([owner, block]) => owner !== node.name && !have.has(block)).map(([, block]) => block);
      if (lacking.length > 0) missing.set(node.name, lacking);
    }),
  );
  return missing;
}

async function waitForRoutes(plan: LabPlan, blocks: ReadonlyMap<string, string>): Promise<void> {
  const deadline = Date.now() + CONVERGENCE_TIMEOUT_MS;
  for (;;) {
    const missing = await missingRoutes(plan, blocks);
    if (missing.size === 0) return;
    if (Date.now() > deadline) {
      const what = [...missing].map(([node, list]) => `${node} lacks ${list.join(', ')}`).join('; ');
      throw new LabError(LAB_ERROR_CODE.STEP_FAILED, `BGP did not converge within ${CONVERGENCE_TIMEOUT_MS / 1000} s: ${what}`);
    }
    await sleep(100);
  }
}

async function checkFolder(plan: LabPlan): Promise<boolean> {
  let names: string[];
  try {
    names = await readdir(plan.spec.dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(plan.spec.dir, { recursive: true, mode: 0o755 });
    return true;
  }
  const taken = plan.entries.filter((entry) => names.includes(entry));
  if (taken.length > 0) throw new LabError(LAB_ERROR_CODE.INVALID_SPEC, `--dir: ${plan.spec.dir} already holds ${taken.join(', ')}; choose an empty folder`);
  return false;
}

function checkPrerequisites(spec: LabSpec): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new LabError(LAB_ERROR_CODE.MISSING_PREREQUISITE, 'the lab makes network namespaces and runs agents: run it as root (sudo)');
  }
  if (spec.tor === 'bird' && !existsSync(BIRD_PATH)) {
    throw new LabError(LAB_ERROR_CODE.MISSING_PREREQUISITE, `tor: bird needs BIRD 2 at ${BIRD_PATH} (apt-get install bird2), or tor none for a full mesh`);
  }
}

/** See LabUp in ports.ts. */
export async function labUp(spec: LabSpec, io: LabIo): Promise<Lab> {
  validateLabSpec(spec);
  checkPrerequisites(spec);
  const existing = await readLabState(spec.dir);
  if (existing !== undefined) {
    const what = existing.phase === 'up' ? `a lab is up in ${spec.dir}` : `${spec.dir} holds a lab that did not finish coming up`;
    throw new LabError(LAB_ERROR_CODE.ALREADY_UP, `${what} (${existing.lab?.nodes.length ?? existing.spec.nodes} nodes, id ${existing.id}): run twill lab down --dir ${spec.dir} first`);
  }
  const plan = planLab(spec, randomBytes(3).toString('hex'));
  const createdDir = await checkFolder(plan);
  const state = await LabStateWriter.create(spec.dir, {
    version: LAB_STATE_VERSION,
    id: plan.id,
    spec,
    phase: 'building',
    createdDir,
    entries: plan.entries,
    // Every namespace is recorded before any is added: down deletes those that exist.
    netns: planNamespaces(plan),
    processes: [],
  });
  const steps = new Steps(io);
  try {
    return await build(plan, state, steps);
  } catch (error) {
    await state.close();
    await labDown(spec.dir).catch(() => undefined);
    throw error;
  }
}

async function build(plan: LabPlan, state: LabStateWriter, steps: Steps): Promise<Lab> {
  const { spec } = plan;
  // The first step to fail ends the build at once, whatever the others are waiting for.
  let fail: (error: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined);
  const started = <T>(work: Promise<T>): Promise<T> => {
    work.catch(fail);
    return work;
  };
  const first = <T>(work: Promise<T>): Promise<T> => Promise.race([work, failed]);

  await steps.run(`namespaces and fabric (${plan.nodes.length} nodes, ${plan.pods.length} pods)`, () => makeNamespaces(plan), () => `${plan.fabric.cidr} on bridge ${plan.fabric.bridge}`);
  await mkdir(plan.dataDir, { recursive: true });
  await Promise.all(plan.nodes.map(async (node) => {
    await mkdir(node.dir, { recursive: true });
    await writeFile(node.configFile, agentConfigText(plan, node));
  }));

  const firstNode = plan.nodes[0] as NodePlan;
  const installed = started(steps.run('plugin installed (twill-agent install-cni)', async () => {
    const text = await installCni(firstNode, async (pid) => void (await recordProcess(state, pid, 'twill-agent install-cni')));
    await Promise.all(plan.nodes.slice(1).map(async (node) => {
      await mkdir(node.confDir, { recursive: true });
      await writeFileAtomic(posix.join(node.confDir, '10-twill.conflist'), conflistForNode(text, firstNode, node));
    }));
  }, () => plan.binDir));
  const tor = plan.tor === undefined ? Promise.resolve(undefined) : started(steps.run('ToR router (BIRD) started', () => startTor(plan, state), (t) => `${t.address}, AS ${t.asNumber}, route reflector`));
  const agents = plan.nodes.map((node) =>
    started(
      (async () => {
        const pid = await startAgent(plan, node);
        const record = await recordProcess(state, pid, `twill-agent ${node.name}`);
        await waitForAgent(node, record, AGENT_START_TIMEOUT_MS);
        return pid;
      })(),
    ),
  );
  const agentsReady = started(steps.run(`agents serving on ${plan.nodes.length} nodes`, () => Promise.all(agents), () => `${spec.dataplane} dataplane, BGP ${plan.tor === undefined ? 'full mesh' : 'to the ToR'}`));
  // The resources go through whichever agent answers first; every agent sees them (one datastore).
  const written = started(steps.run('resources written (BGP, namespaces, pods)', async () => {
    const socket = await Promise.any(plan.nodes.map(async (node, i) => (await agents[i], node.apiSocket)));
    await applyResources(socket, labResources(plan));
  }));

  const addresses = await first(steps.run(`${plan.pods.length} pods added through CNI ADD`, async () => {
    await Promise.all([installed, written]);
    return Promise.all(plan.pods.map(async (pod) => {
      await agents[pod.node.index];
      return addPod(plan, pod);
    }));
  }));
  const pids = await first(agentsReady);
  const torLab = await first(tor);

  const blocks = new Map<string, string>();
  plan.pods.forEach((pod, i) => blocks.set(pod.node.name, blockOf(addresses[i] as string, LAB_ADDRESSING.pool.blockSize)));
  await first(steps.run('routes between every pair of nodes', () => waitForRoutes(plan, blocks), () => `${blocks.size} blocks over BGP${plan.tor === undefined ? ' (mesh)' : ' (via the ToR)'}`));

  const nodes: LabNode[] = plan.nodes.map((node, i) => ({
    name: node.name,
    netns: node.netns,
    address: node.address,
    block: blocks.get(node.name),
    agentPid: pids[i] as number,
    agentSocket: node.agentSocket,
    apiSocket: node.apiSocket,
    observerSocket: node.observerSocket,
    httpListen: LAB_ADDRESSING.httpListen,
    logFile: node.logFile,
    configFile: node.configFile,
    confDir: node.confDir,
  }));
  const pods: LabPod[] = plan.pods.map((pod, i) => ({
    name: pod.spec.name,
    namespace: pod.spec.namespace,
    node: pod.node.name,
    netns: pod.netns,
    address: addresses[i] as string,
    labels: pod.spec.labels,
    containerId: pod.containerId,
  }));
  const lab: Lab = {
    id: plan.id,
    dir: spec.dir,
    spec,
    fabric: plan.fabric,
    nodes,
    pods,
    tor: torLab,
    pool: { ...LAB_ADDRESSING.pool },
    asNumber: LAB_ADDRESSING.asNumber,
    datastore: plan.datastore,
    cniBinDir: plan.binDir,
    upAt: new Date().toISOString(),
  };
  await state.update((s) => ({ ...s, phase: 'up', lab }));
  return lab;
}
