// The lab's prober, run inside one source pod's network namespace
// (`ip netns exec NS node pod-probe.mjs JSON`): every probe at once, each a TCP connect
// (and, with `http`, one HTTP GET of `http.path`) bounded by `timeoutMs`. Node built-ins only.
// Input (argv[2]): {"timeoutMs":N,"probes":[{"address":"10.244.0.5","port":8080,"http":{"path":"/api/v1/products"}}]}
// Output (stdout, one JSON line): {"results":[{"connected":bool,"error"?:"timeout"|"ECONNREFUSED"|...,
//   "status"?:200,"body"?:"first 200 characters"}]} in the order of the probes.

import * as http from 'node:http';
import * as net from 'node:net';

function connect(address, port, timeoutMs) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const done = (result) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({ connected: false, error: 'timeout' }), timeoutMs);
    socket.once('connect', () => done({ connected: true }));
    socket.once('error', (error) => done({ connected: false, error: error.code ?? error.message }));
  });
}

function get(address, port, path, timeoutMs) {
  return new Promise((resolve) => {
    let connected = false;
    const req = http.get({ host: address, port, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve({ connected: true, status: res.statusCode, body: body.slice(0, 200) }));
      res.on('error', (error) => resolve({ connected: true, error: error.code ?? error.message }));
    });
    req.once('socket', (socket) => socket.once('connect', () => { connected = true; }));
    req.once('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    req.once('error', (error) => resolve({ connected, error: error.code ?? error.message }));
  });
}

async function main() {
  const input = JSON.parse(process.argv[2] ?? '{}');
  const timeoutMs = Number(input.timeoutMs ?? 1000);
  const results = await Promise.all((input.probes ?? []).map((p) => (p.http === undefined
    ? connect(p.address, p.port, timeoutMs)
    : get(p.address, p.port, p.http.path, timeoutMs))));
  process.stdout.write(`${JSON.stringify({ results })}\n`);
}

main().catch((error) => {
  process.stderr.write(`pod-probe: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
