// CPU per flow of GetFlows over a unix socket (server and client in this one process), beside the
// codec alone: npx tsx --conditions=@twill/source packages/flows/scripts/measure-stream.mts
import { FlowRing, serveObserver, connectObserver, encodeGetFlowsResponse, decodeGetFlowsResponse } from '../src/index.js';
import { makeFlow } from '../test/fixtures.js';
import { mkdtempSync } from 'node:fs'; import { tmpdir } from 'node:os'; import { join } from 'node:path';
const flow = makeFlow();
const ring = new FlowRing({ capacity: 50000, nodeName: 'n' });
for (let i = 0; i < 50000; i++) ring.push(flow);
const server = await serveObserver({ service: ring, socket: join(mkdtempSync(join(tmpdir(), 'm-')), 's.sock') });
const client = connectObserver(`unix:${server.socket}`);
for (let r = 0; r < 3; r++) {
  const c0 = process.cpuUsage(); let n = 0;
  for await (const _ of client.getFlows({})) n++;
  const c = process.cpuUsage(c0);
  const c1 = process.cpuUsage();
  const resp = { flow, nodeName: 'n', time: flow.time };
  for (let i = 0; i < n; i++) decodeGetFlowsResponse(encodeGetFlowsResponse(resp));
  const cc = process.cpuUsage(c1);
  console.log(`GetFlows over a unix socket: ${((c.user + c.system) / n).toFixed(1)} us CPU per flow (server and client in one process); encode+decode alone ${((cc.user + cc.system) / n).toFixed(1)} us; ratio ${((c.user + c.system) / (cc.user + cc.system)).toFixed(2)}`);
}
client.close(); await server.close();
