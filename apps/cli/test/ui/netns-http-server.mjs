// An HTTP server for forwarder.root.test.ts, run inside a scratch network namespace
// (`ip netns exec NS node netns-http-server.mjs PORT`). Says `listening` on stdout once it
// listens and `closed <path>` when a client's stream or flood connection goes away.
//   GET /            200 `host=<the Host header>`
//   GET /events      an event stream: 10 events 20 ms apart, then held open
//   GET /flood?mib=N N MiB as fast as the client takes them (write, then wait for drain)
//   GET /written     how many bytes the last flood has written so far
//   POST /sha256     the SHA-256 and length of the body
//   SIGTERM          closes every connection and exits 0
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';

let written = 0;
const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://x');
  if (url.pathname === '/') {
    response.end(`host=${request.headers.host ?? ''}`);
  } else if (url.pathname === '/events') {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    let n = 0;
    response.write(`data: ${n++}\n\n`);
    const timer = setInterval(() => {
      if (n < 10) response.write(`data: ${n++}\n\n`);
    }, 20);
    request.on('close', () => {
      clearInterval(timer);
      process.stdout.write('closed /events\n');
    });
  } else if (url.pathname === '/flood') {
    const total = Number(url.searchParams.get('mib')) * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    written = 0;
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
    const pump = () => {
      while (written < total) {
        written += chunk.length;
        if (!response.write(chunk)) {
          response.once('drain', pump);
          return;
        }
      }
      response.end();
    };
    request.on('close', () => process.stdout.write('closed /flood\n'));
    pump();
  } else if (url.pathname === '/written') {
    response.end(String(written));
  } else if (url.pathname === '/sha256' && request.method === 'POST') {
    const hash = createHash('sha256');
    let length = 0;
    request.on('data', (data) => {
      hash.update(data);
      length += data.length;
    });
    request.on('end', () => response.end(`${hash.digest('hex')} ${length}`));
  } else {
    response.writeHead(404).end();
  }
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.argv[2]), '127.0.0.1', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
