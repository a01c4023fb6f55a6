// A flow ring, the observer server on a unix socket, and a client, in one script:
//   npx tsx --conditions=@twill/source packages/flows/examples/quickstart.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { connectObserver, type Flow, FlowRing, serveObserver } from '@twill/flows';

// A flow from a frontend pod to an API pod, allowed or dropped.
function flow(n: number, verdict: 'FORWARDED' | 'DROPPED'): Flow {
  return {
    time: { seconds: Math.floor(Date.now() / 1000), nanos: 0 },
    uuid: `flow-${n}`,
    verdict,
    ...(verdict === 'DROPPED' && { dropReasonDesc: 'POLICY_DENIED' as const }),
    IP: { source: '10.0.1.5', destination: '10.0.2.9', ipVersion: 'IPv4' },
    l4: { TCP: { sourcePort: 40_000 + n, destinationPort: 8080, flags: { SYN: true } } },
    source: { ID: 11, identity: 1001, namespace: 'default', podName: 'frontend-1', labels: ['k8s:app=frontend'] },
    destination: { ID: 12, identity: 1002, namespace: 'prod', podName: 'api-7', labels: ['k8s:app=api'] },
    Type: 'L3_L4',
    nodeName: 'node-a',
    isReply: false,
    trafficDirection: 'INGRESS',
    egressAllowedBy: [],
    ingressAllowedBy: [],
    egressDeniedBy: [],
    ingressDeniedBy: [],
    Summary: 'TCP Flags: SYN',
  };
}

const dir = mkdtempSync(join(tmpdir(), 'flows-example-'));
const ring = new FlowRing({ capacity: 4096, nodeName: 'node-a' });
const server = await serveObserver({ service: ring, socket: join(dir, 'observer.sock') });
const client = connectObserver(`unix:${server.socket}`);
try {
  ring.push(flow(1, 'FORWARDED'));
  ring.push(flow(2, 'DROPPED'));
  ring.push(flow(3, 'FORWARDED'));

  // The last 10 dropped flows.
  for await (const r of client.getFlows({ number: 10, whitelist: [{ verdict: ['DROPPED'] }] })) {
    if ('flow' in r) process.stdout.write(`past: ${r.flow.uuid} ${r.flow.verdict} ${r.flow.dropReasonDesc ?? ''}\n`);
  }

  // Follow: the newest flow to prod/, then new ones as they come, until we abort.
  const abort = new AbortController();
  let seen = 0;
  for await (const r of client.getFlows({ number: 1, follow: true, whitelist: [{ destinationPod: ['prod/'] }] }, abort.signal)) {
    if ('flow' in r) process.stdout.write(`live: ${r.flow.uuid} ${r.flow.verdict}\n`);
    else process.stdout.write(`live: ${r.lostEvents.numEventsLost} events lost at ${r.lostEvents.source}\n`);
    seen++;
    if (seen === 1) {
      // The agent would do this as the dataplane reports verdicts and losses.
      ring.lost('nflog', 5);
      ring.push(flow(4, 'DROPPED'));
    }
    if (seen === 3) abort.abort();
  }

  const status = await client.serverStatus();
  process.stdout.write(`status: ${status.numFlows}/${status.maxFlows} flows, ${status.seenFlows} seen, ${status.numLostEvents} lost\n`);
} finally {
  client.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
