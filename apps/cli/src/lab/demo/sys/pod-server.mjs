// A pod's server and prober in the lab's demonstration, run inside the pod's network
// namespace (`ip netns exec NS node pod-server.mjs ROLE PORT POD CONTROL_SOCKET`).
// Node built-ins only.
//   frontend    HTTP: a small page on every path
//   api-server  HTTP: the JSON API under /api/v1/ (products, orders, health) and /admin/users,
//   api         a path an L7 rule allowing only /api/v1/.* would refuse
//   database    TCP: one greeting line, then it closes
// The prober: on CONTROL_SOCKET, a Unix socket on the host's file system (reachable from
// outside the pod's network namespace), a client sends one JSON line
//   {"timeoutMs":N,"probes":[{"address":"10.244.0.5","port":8080,"http":{"path":"/api/v1/products"}}]}
// and gets one line back, the results in the order of the probes:
//   {"results":[{"connected":bool,"error"?:"timeout"|"ECONNREFUSED"|...,"status"?:200,"body"?:"..."}]}
// Every probe runs at once from inside the pod (a TCP connect that stays up 150 ms, or one HTTP GET), each
// bounded by timeoutMs: a whole row of the matrix takes one timeout at most.
// When both listen it prints one JSON line on stdout ({"listening":PORT,...}) and then
// never writes to stdout again: whoever started it may close the pipe and go.
// SIGTERM or SIGINT closes the server and exits 0.

import * as http from 'node:http';
import * as fs from 'node:fs';
import * as net from 'node:net';

const [role, portText, pod, controlSocket] = process.argv.slice(2);
const port = Number(portText);
const ROLES = ['frontend', 'api-server', 'api', 'database'];
if (!ROLES.includes(role) || !Number.isInteger(port) || port < 1 || port > 65535 || !pod || !controlSocket) {
  process.stderr.write(`usage: pod-server.mjs ${ROLES.join('|')} PORT NAMESPACE/POD CONTROL_SOCKET (got ${process.argv.slice(2).join(' ')})\n`);
  process.exit(2);
}
process.title = `twill-lab-${role} ${pod}`;

const PRODUCTS = [
  { id: 1, name: 'veth pair', price: 3 },
  { id: 2, name: 'BGP session', price: 12 },
  { id: 3, name: 'policy map', price: 7 },
];

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify({ pod, ...body })}\n`);
}

function api(req, res) {
  const path = new URL(req.url ?? '/', 'http://pod').pathname;
  if (req.method !== 'GET') return json(res, 405, { error: `${req.method} is not served here` });
  switch (path) {
    case '/api/v1/health': return json(res, 200, { status: 'ok' });
    case '/api/v1/products': return json(res, 200, { products: PRODUCTS });
    case '/api/v1/orders': return json(res, 200, { orders: [{ id: 7, product: 2, quantity: 1 }] });
    // Outside /api/v1/: what an L7 rule on /api/v1/.* keeps from clients it applies to.
    case '/admin/users': return json(res, 200, { users: ['root'], note: 'an internal path' });
    default: return json(res, 404, { error: `no ${path}` });
  }
}

function frontend(req, res) {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end(`<!doctype html><title>${pod}</title><p>frontend ${pod}: the shop's pages</p>\n`);
}

const server = role === 'database'
  ? net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end(`twill-lab database ${pod}: ready for queries\n`);
  })
  : http.createServer(role === 'frontend' ? frontend : api);

// The prober.
/** How long a connection must stay up after its handshake to count as connected (ms). */
const RESET_GRACE_MS = 150;

function connect(address, port, timeoutMs) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const done = (result) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    let timer = setTimeout(() => done({ connected: false, error: 'timeout' }), timeoutMs);
    // Connected is not yet reached: an L7 proxy that accepted the connection for its
    // policy check resets one policy denies right after the handshake (with eBPF, a client
    // on another node). A connection still up a moment later reached the pod's server.
    socket.once('connect', () => {
      clearTimeout(timer);
      timer = setTimeout(() => done({ connected: true }), RESET_GRACE_MS);
    });
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

function probe(line) {
  const input = JSON.parse(line);
  const timeoutMs = Number(input.timeoutMs ?? 1000);
  return Promise.all((input.probes ?? []).map((p) => (p.http === undefined
    ? connect(p.address, p.port, timeoutMs)
    : get(p.address, p.port, p.http.path, timeoutMs))));
}

const control = net.createServer((client) => {
  let buffer = '';
  let asked = false;
  client.setEncoding('utf8');
  client.on('error', () => undefined);
  client.on('data', (chunk) => {
    buffer += chunk;
    const end = buffer.indexOf('\n');
    if (end < 0 || asked) return;
    asked = true;
    probe(buffer.slice(0, end))
      .then((results) => client.end(`${JSON.stringify({ results })}\n`))
      .catch((error) => client.end(`${JSON.stringify({ error: error instanceof Error ? error.message : String(error) })}\n`));
  });
});

for (const s of [server, control]) {
  s.on('error', (error) => {
    process.stderr.write(`pod-server ${pod}: ${error.message}\n`);
    process.exit(1);
  });
}
// A socket file left by a server that was killed would refuse the bind.
fs.rmSync(controlSocket, { force: true });
let listening = 0;
function ready() {
  listening += 1;
  // Whoever may connect may make connections from inside the pod: root only.
  if (listening === 2) fs.chmodSync(controlSocket, 0o600);
  if (listening === 2) process.stdout.write(`${JSON.stringify({ listening: port, control: controlSocket, role, pod, pid: process.pid })}\n`);
}
server.listen(port, ready);
control.listen(controlSocket, ready);
// Whoever started us may be gone: writing to a closed pipe must not kill the server.
process.stdout.on('error', () => undefined);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    control.close();
    fs.rmSync(controlSocket, { force: true });
    process.exit(0);
  });
}
