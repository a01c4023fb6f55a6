// The long-lived probe process of one pod of the truth-table harness, run inside the
// pod's network namespace (`ip netns exec <pod> node probe-agent.mjs 80 81`). It serves
// TCP and UDP echo on the given ports, and makes connections on request: one JSON
// request per line on standard input, one JSON answer per line on standard output.
//   {"id":1,"op":"tcp","host":"10.1.1.2","port":80,"sourcePort":20001,"timeoutMs":300} -> {"id":1,"ok":true}
//   {"id":2,"op":"udp",...same fields}                                                   -> {"id":2,"ok":false}
//   {"id":3,"op":"open",...}  keeps the TCP connection as id 3; {"id":4,"op":"echo","conn":3,"timeoutMs":500}; {"id":5,"op":"close","conn":3}
// Plain JavaScript so that it starts in tens of milliseconds (no TypeScript loader).
import dgram from 'node:dgram';
import net from 'node:net';
import readline from 'node:readline';

const ports = process.argv.slice(2).map(Number);
const held = new Map();
const reply = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

function tcp(request, keep) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: request.host, port: request.port, localPort: request.sourcePort });
    const timer = setTimeout(() => done(false), request.timeoutMs);
    let settled = false;
    function done(ok, error) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (ok && keep) held.set(request.id, socket);
      else socket.destroy();
      resolve(error === undefined ? { ok } : { ok, error });
    }
    socket.once('connect', () => done(true));
    socket.once('error', (error) => done(false, error.code));
  });
}

function udp(request) {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    let settled = false;
    const done = (ok, error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      resolve(error === undefined ? { ok } : { ok, error });
    };
    const timer = setTimeout(() => done(false), request.timeoutMs);
    socket.once('message', () => done(true));
    socket.once('error', (error) => done(false, error.code));
    socket.bind(request.sourcePort, () => socket.send('probe', request.port, request.host));
  });
}

function echo(request) {
  const socket = held.get(request.conn);
  if (socket === undefined) return Promise.resolve({ ok: false, error: 'no such connection' });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off('data', onData);
      resolve({ ok: false });
    }, request.timeoutMs);
    function onData() {
      clearTimeout(timer);
      socket.off('data', onData);
      resolve({ ok: true });
    }
    socket.on('data', onData);
    socket.write('ping');
  });
}

async function handle(request) {
  switch (request.op) {
    case 'tcp':
      return tcp(request, false);
    case 'open':
      return tcp(request, true);
    case 'udp':
      return udp(request);
    case 'echo':
      return echo(request);
    case 'close':
      held.get(request.conn)?.destroy();
      held.delete(request.conn);
      return { ok: true };
    default:
      return { ok: false, error: `unknown op ${request.op}` };
  }
}

const listening = ports.flatMap((port) => [
  new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      socket.on('error', () => socket.destroy());
      socket.pipe(socket);
    });
    server.once('error', reject);
    server.listen(port, '0.0.0.0', resolve);
  }),
  new Promise((resolve, reject) => {
    const server = dgram.createSocket('udp4');
    server.on('message', (message, from) => server.send(message, from.port, from.address));
    server.once('error', reject);
    server.bind(port, '0.0.0.0', resolve);
  }),
]);

Promise.all(listening).then(
  () => {
    reply({ ready: true });
    readline.createInterface({ input: process.stdin }).on('line', (line) => {
      const request = JSON.parse(line);
      void handle(request).then((result) => reply({ id: request.id, ...result }));
    });
    process.stdin.on('end', () => process.exit(0));
  },
  (error) => {
    reply({ ready: false, error: String(error) });
    process.exit(1);
  },
);
