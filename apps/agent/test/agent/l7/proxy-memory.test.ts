// Bounded memory: a 50 MB chunked upload streams through the proxy. Two measurements, no
// timing: while the destination reads nothing, the client cannot push more than socket
// buffers hold (the proxy applies backpressure instead of buffering); and the heap plus
// array buffers, sampled after a forced GC during the upload, stay far below 50 MB. The
// client runs in a child process, so what is measured is the proxy's (and the discarding
// destination's) memory, not the client's own queued chunks.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { type AddressInfo } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';

import { afterEach, expect, it } from 'vitest';

import { type L7Proxy } from '../../../src/agent/l7/index.js';
import { L4_POLICY, policySource, startProxy } from './harness.js';

const TOTAL = 50 * 1024 * 1024;
const CHUNK = 64 * 1024;

const CLIENT = `
const http = require('http'); const { Readable } = require('stream');
const [port, total, chunk] = process.argv.slice(1).map(Number);
let produced = 0;
const timer = setInterval(() => console.log('produced ' + produced), 50);
const body = new Readable({ highWaterMark: chunk, read() {
  if (produced >= total) { this.push(null); return; }
  produced += chunk; this.push(Buffer.alloc(chunk, produced & 0xff));
} });
const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/api/v1/upload', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
  let text = ''; res.setEncoding('utf8'); res.on('data', (c) => { text += c; });
  res.on('end', () => { clearInterval(timer); console.log('produced ' + produced); console.log(JSON.stringify({ status: res.statusCode, text })); });
});
req.on('error', (e) => { console.error(e); process.exit(1); });
body.pipe(req);
`;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const used = (): number => { gc(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };

let proxy: L7Proxy | undefined;
let upstream: http.Server | undefined;
afterEach(async () => {
  await proxy?.close();
  upstream?.closeAllConnections();
  await new Promise<void>((resolve) => (upstream === undefined ? resolve() : upstream.close(() => resolve())));
});

it('streams a 50 MB chunked upload with backpressure and bounded memory', async () => {
  let received = 0;
  let release!: () => void;
  const released = new Promise<void>((resolve) => { release = resolve; });
  upstream = http.createServer((req, res) => {
    req.pause();
    void released.then(() => {
      req.on('data', (chunk: Buffer) => { received += chunk.length; });
      req.on('end', () => res.end(`received ${received} bytes\n`));
      req.resume();
    });
  });
  await new Promise<void>((resolve) => upstream?.listen(0, '127.0.0.1', resolve));
  const started = await startProxy({ upstreamPort: (upstream.address() as AddressInfo).port, policy: policySource(L4_POLICY) });
  proxy = started.proxy;

  const baseline = used();
  // The client: a chunked POST of TOTAL bytes in CHUNK pieces, saying how far it got every 50 ms, then the answer as JSON.
  const client = spawn(process.execPath, ['-e', CLIENT, String(started.port), String(TOTAL), String(CHUNK)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let produced = 0;
  let answer = '';
  client.stdout.setEncoding('utf8');
  client.stdout.on('data', (text: string) => {
    for (const line of text.split('\n')) {
      if (line.startsWith('produced ')) produced = Number(line.slice(9));
      else if (line.startsWith('{')) answer = line;
    }
  });
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    client.once('error', reject);
    client.once('exit', (code) => (answer === '' ? reject(new Error(`the client exited with ${code} and no answer`)) : resolve(JSON.parse(answer) as { status: number; text: string })));
  });

  // Let the client push until backpressure stops it, while the destination reads nothing.
  while (produced === 0) await new Promise((r) => setTimeout(r, 50));
  let last = -1;
  while (produced !== last) {
    last = produced;
    await new Promise((r) => setTimeout(r, 200));
  }
  const stalledAt = produced;
  const stalledMemory = used() - baseline;
  release();

  let peak = stalledMemory;
  const sampler = setInterval(() => { peak = Math.max(peak, used() - baseline); }, 100);
  const result = await response.finally(() => clearInterval(sampler));

  expect(result).toEqual({ status: 200, text: `received ${TOTAL} bytes\n` });
  // Socket buffers on loopback (both hops, both ends) hold a few MB; a proxy that buffered would take all 50.
  expect(stalledAt).toBeLessThan(TOTAL / 2);
  // The proxy and the discarding destination share this process: their in-flight chunks
  // are counted (0.6-18 MB measured); buffering the upload would add the whole 50 MB.
  expect(peak).toBeLessThan(TOTAL / 2);
  console.info(`l7 proxy memory: client stalled after ${(stalledAt / 2 ** 20).toFixed(1)} MB of ${TOTAL / 2 ** 20} MB; heap+arrayBuffers growth: ${(stalledMemory / 2 ** 20).toFixed(1)} MB stalled, ${(peak / 2 ** 20).toFixed(1)} MB peak`);
}, 120_000);
