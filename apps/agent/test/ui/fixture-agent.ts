// An agent for the dashboard's tests, in this process: a memory datastore with
// namespaces, labelled pods, their endpoint records and a policy; the real policy
// controller, API socket, flow observer and dashboard server; a dataplane whose
// readFlows hands the test the observer's handler, so a test reports a verdict as the
// kernel would and the flow goes through the real observer, ring and stream.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { MemoryStore } from '@twill/ipam';
import { uiAssetsDir } from '@twill/ui';

import { type AgentPorts, type RunningAgent, startAgent } from '../../src/agent/agent.js';
import { type AgentConfig, parseAgentConfigText, resolveAgentConfig } from '../../src/agent/config.js';
import { PolicyController } from '../../src/agent/controllers/policy.js';
import { resourceDatastoreOver } from '../../src/agent/datastore/index.js';
import { type AgentLogger } from '../../src/agent/ports.js';
import { listenApi } from '../../src/agent/sys/api-server.js';
import { serveFlows } from '../../src/agent/sys/flows-server.js';
import { listenHealth } from '../../src/agent/sys/http.js';
import { listenUi } from '../../src/agent/ui/sys/ui-server.js';
import { type Dataplane, type DataplaneFlowEvent, type DataplaneFlowHandler } from '../../src/dataplane/port.js';
import { StoreEndpointRegistry } from '../../src/plugin/endpoints.js';

const quiet: AgentLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** A pod of the fixture. */
export interface FixturePod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ip: string;
}

/** A running fixture agent. */
export interface FixtureAgent {
  readonly dir: string;
  readonly config: AgentConfig;
  readonly agent: RunningAgent;
  /** The dashboard's URL, as `twill ui` prints it (with the token in its fragment). */
  readonly url: string;
  /** Where the dashboard is (`http://127.0.0.1:PORT`). */
  readonly origin: string;
  /** The token of this start, from the URL. */
  readonly token: string;
  /** Reports verdicts as the dataplane would. */
  events(batch: readonly DataplaneFlowEvent[]): void;
  stop(): Promise<void>;
}

const UI_PACKAGE = resolve(import.meta.dirname, '../../../../packages/ui');

/** Builds the dashboard's browser files from the sources (Vite, as the package's build does), so the test never serves a stale build. */
export function ensureUiBuilt(): string {
  const vite = resolve(UI_PACKAGE, '../../node_modules/vite/bin/vite.js');
  execFileSync(process.execPath, [vite, 'build', '--logLevel', 'error'], { cwd: UI_PACKAGE, stdio: 'pipe' });
  const dir = uiAssetsDir();
  if (!existsSync(join(dir, 'index.html'))) throw new Error(`vite build made no ${join(dir, 'index.html')}`);
  return dir;
}

/** Starts the fixture agent with `pods` (a record each, on node `node-a`) and `resources` (namespaces are made for the pods). */
export async function startFixtureAgent(options: { pods: readonly FixturePod[]; resources?: readonly Record<string, unknown>[]; flowsCapacity?: number }): Promise<FixtureAgent> {
  const assetsDir = ensureUiBuilt();
  const dir = await mkdtemp(join(tmpdir(), 'twt-ui-'));
  const file = join(dir, 'agent.yaml');
  const config = resolveAgentConfig({
    hostname: 'node-a',
    file: { path: file, settings: parseAgentConfigText(file, `flows: {socket: ${join(dir, 'observer.sock')}, capacity: ${options.flowsCapacity ?? 4096}, budgetPerSecond: 1000000}\nui: {listen: "127.0.0.1:0"}\n`) },
    flags: { routing: 'none', dataDir: join(dir, 'data'), agentSocket: join(dir, 'agent.sock'), apiSocket: join(dir, 'api.sock'), httpListen: '127.0.0.1:0', network: 'pods' },
  });
  const store = new MemoryStore();
  const seed = resourceDatastoreOver(store);
  for (const namespace of [...new Set(options.pods.map((p) => p.namespace))].sort()) {
    await seed.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { 'kubernetes.io/metadata.name': namespace } } });
  }
  for (const pod of options.pods) {
    await seed.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.name, namespace: pod.namespace, labels: { ...pod.labels } }, spec: { containers: [{ name: 'c', image: 'i' }] } });
  }
  for (const resource of options.resources ?? []) await seed.apply(resource as Parameters<typeof seed.apply>[0]);
  await seed.close();
  const registry = new StoreEndpointRegistry(store);
  for (const [i, pod] of options.pods.entries()) {
    await registry.register({ network: 'pods', containerId: `c${i}`, ifName: 'eth0', hostInterface: `twc${i}`, addresses: [`${pod.ip}/32`], netns: `/run/netns/c${i}`, namespace: pod.namespace, pod: pod.name, since: 1, node: 'node-a' });
  }
  let handler: DataplaneFlowHandler | undefined;
  const dataplane: Dataplane = {
    driver: 'nftables',
    apply: async () => ({ endpoints: 0, operations: 0, durationMs: 0 }),
    status: async () => ({ driver: 'nftables', endpoints: [], drift: [] }),
    cleanup: async () => undefined,
    readFlows: (h) => {
      handler = h;
      return { close: () => undefined };
    },
  };
  const ports: AgentPorts = {
    logger: quiet,
    openDatastore: async () => resourceDatastoreOver(store, { pollMs: 20 }),
    openDataplane: async () => dataplane,
    controllers: ({ config: c, datastore, dataplane: d }) => {
      const policy = new PolicyController({ datastore, dataplane: d, nodeName: c.nodeName, network: c.network });
      return { controllers: [policy], flows: policy.flowView(), endpoints: { enforce: (r) => policy.enforce(r), forget: (n, id) => policy.forget(n, id) } };
    },
    serve: async () => ({ socketPath: config.agentSocket, inFlight: 0, close: async () => undefined }),
    listenHealth,
    listenApi,
    serveFlows,
    listenUi: (o) => listenUi({ ...o, assetsDir }),
  };
  const agent = await startAgent(config, ports);
  const status = await agent.status();
  if (!status.ui.enabled || !status.ui.listening) {
    await agent.stop();
    throw new Error(`the dashboard is not served: ${JSON.stringify(status.ui)}`);
  }
  const url = new URL(status.ui.url);
  const token = /^#token=(.+)$/u.exec(url.hash)?.[1];
  if (token === undefined) {
    await agent.stop();
    throw new Error(`the dashboard's URL carries no token: ${status.ui.url}`);
  }
  return {
    dir,
    config,
    agent,
    url: status.ui.url,
    origin: url.origin,
    token: decodeURIComponent(token),
    events: (batch) => handler!.events(batch),
    stop: async () => {
      await agent.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A verdict event as the nftables reader reports one: `from` to `to`'s port over TCP, at `to`'s ingress. */
export function verdictEvent(from: FixturePod, to: FixturePod, port: number, verdict: 'allow' | 'deny', timeMs = Date.now()): DataplaneFlowEvent {
  return {
    timeMs,
    ifindex: 9,
    endpoint: `${to.namespace}/${to.name}`,
    direction: 'ingress',
    verdict,
    reason: 'policy',
    ...(verdict === 'deny' ? { dropKind: 'isolated' as const } : {}),
    protocol: 6,
    source: from.ip,
    destination: to.ip,
    sourcePort: 40000 + (timeMs % 20000),
    destinationPort: port,
    tcpFlags: 0x02,
  } as DataplaneFlowEvent;
}
