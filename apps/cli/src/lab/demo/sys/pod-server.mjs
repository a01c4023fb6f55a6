// A pod's server in the lab's demonstration, run inside the pod's network namespace
// (`ip netns exec NS node pod-server.mjs ROLE PORT POD`). Node built-ins only.
//   frontend    HTTP: a small page on every path
//   api-server  HTTP: the JSON API under /api/v1/ (products, orders, health) and /admin/users,
//   api         a path an L7 rule allowing only /api/v1/.* would refuse
//   database    TCP: one greeting line, then it closes
// When it listens it prints one JSON line on stdout ({"listening":PORT,...}) and then
// never writes to stdout again: whoever started it may close the pipe and go.
// SIGTERM or SIGINT closes the server and exits 0.

import * as http from 'node:http';
import * as net from 'node:net';

const [role, portText, pod] = process.argv.slice(2);
const port = Number(portText);
const ROLES = ['frontend', 'api-server', 'api', 'database'];
if (!ROLES.includes(role) || !Number.isInteger(port) || port < 1 || port > 65535 || !pod) {
  process.stderr.write(`usage: pod-server.mjs ${ROLES.join('|')} PORT NAMESPACE/POD (got ${process.argv.slice(2).join(' ')})\n`);
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

server.on('error', (error) => {
  process.stderr.write(`pod-server ${pod}: ${error.message}\n`);
  process.exit(1);
});
server.listen(port, () => {
  process.stdout.write(`${JSON.stringify({ listening: port, role, pod, pid: process.pid })}\n`);
});
// Whoever started us may be gone: writing to a closed pipe must not kill the server.
process.stdout.on('error', () => undefined);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
