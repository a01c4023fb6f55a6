// HTTP/2 (h2c with prior knowledge, what gRPC clients send) through the proxy: every
// stream decided on its own; a denied request gets 403, a denied gRPC call a
// trailers-only PERMISSION_DENIED; allowed streams go over one h2 session per
// destination, bodies piped both ways under HTTP/2 flow control, trailers forwarded.
import http2 from 'node:http2';

import { deniedText, endToEndHeaders, GRPC_STATUS, grpcTrailersOnly, http2RequestFacts, isGrpc, upstreamFailure } from '../http-semantics.js';
import { L7_VERDICT, type L7Verdict } from '../ports.js';
import { type ConnectionContext, decideRequest, getContext, type ProxyShared, recordRequest, ruleLabels } from './context.js';

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR } = http2.constants;

/** The Node HTTP/2 server the proxy hands h2 connections to (it never listens itself). */
export function createHttp2Server(shared: ProxyShared): http2.Http2Server {
  const { limits } = shared;
  const server = http2.createServer({
    maxHeaderListPairs: 256,
    settings: { maxConcurrentStreams: limits.maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderBytes, enablePush: false },
  });
  server.on('session', (session: http2.ServerHttp2Session) => {
    session.setTimeout(limits.idleTimeoutMs, () => session.close());
    session.on('error', () => session.destroy());
  });
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    const context = getContext(stream.session?.socket);
    if (context === undefined) { stream.close(NGHTTP2_INTERNAL_ERROR); return; }
    handleStream(shared, context, stream, headers);
  });
  return server;
}

function handleStream(shared: ProxyShared, context: ConnectionContext, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  const start = shared.now();
  const facts = http2RequestFacts(headers);
  const grpc = isGrpc(headers['content-type']);
  let done = false;
  const settle = (status: number, verdict: L7Verdict, rules: readonly string[], grpcStatus?: number, why?: string): void => {
    if (done) return;
    done = true;
    recordRequest(shared, { context, protocol: 'HTTP/2', facts, start, status, verdict, rules, grpcStatus, why });
  };
  stream.on('error', () => { /* reported by 'close' below */ });

  const decision = decideRequest(context, facts);
  if (!decision.allowed) {
    const why = decision.why;
    if (grpc) {
      stream.respond(grpcTrailersOnly(GRPC_STATUS.PERMISSION_DENIED, `denied by policy: ${why}`), { endStream: true });
      settle(200, L7_VERDICT.DENIED, [], GRPC_STATUS.PERMISSION_DENIED, why);
    } else {
      stream.respond({ ':status': 403, 'content-type': 'text/plain; charset=utf-8' });
      stream.end(deniedText(why));
      settle(403, L7_VERDICT.DENIED, [], undefined, why);
    }
    return;
  }
  const rules = ruleLabels(decision.by);
  forward(shared, context, stream, headers, grpc, (status, verdict, grpcStatus, why) => settle(status, verdict, rules, grpcStatus, why));
}

function forward(
  shared: ProxyShared, context: ConnectionContext, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, grpc: boolean,
  settle: (status: number, verdict: L7Verdict, grpcStatus?: number, why?: string) => void,
): void {
  const fail = (error: unknown): void => {
    const failure = upstreamFailure(error, context.destination);
    if (!stream.headersSent && !stream.destroyed) {
      if (grpc) {
        stream.respond(grpcTrailersOnly(failure.grpcStatus, failure.why), { endStream: true });
        settle(200, L7_VERDICT.UPSTREAM_ERROR, failure.grpcStatus, failure.why);
      } else {
        stream.respond({ ':status': failure.status, 'content-type': 'text/plain; charset=utf-8' });
        stream.end(`${failure.why}\n`);
        settle(failure.status, L7_VERDICT.UPSTREAM_ERROR, undefined, failure.why);
      }
    } else {
      stream.close(NGHTTP2_INTERNAL_ERROR);
      settle(0, L7_VERDICT.UPSTREAM_ERROR, undefined, failure.why);
    }
  };
  let session: http2.ClientHttp2Session;
  let upstream: http2.ClientHttp2Stream;
  try {
    session = shared.pools.session(context.client, context.destination);
    upstream = session.request({
      ...endToEndHeaders(headers),
      ':method': headers[':method'],
      ':path': headers[':path'],
      ':scheme': headers[':scheme'] ?? 'http',
      ...(headers[':authority'] === undefined ? {} : { ':authority': headers[':authority'] }),
    }, { endStream: stream.readableEnded });
  } catch (error) {
    fail(error);
    return;
  }
  let status = 0;
  let grpcStatus: number | undefined;
  let trailers: http2.IncomingHttpHeaders | undefined;
  upstream.on('response', (responseHeaders: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader, flags: number) => {
    status = Number(responseHeaders[':status'] ?? 502);
    if (responseHeaders['grpc-status'] !== undefined) grpcStatus = Number(responseHeaders['grpc-status']);
    const out = { ...endToEndHeaders(responseHeaders), ':status': status };
    // END_STREAM on the response HEADERS: a trailers-only answer (gRPC errors), passed on as one.
    if ((flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0) {
      stream.respond(out, { endStream: true });
      return;
    }
    stream.respond(out, { waitForTrailers: true });
    upstream.pipe(stream);
  });
  upstream.on('trailers', (received: http2.IncomingHttpHeaders) => {
    trailers = received;
    if (received['grpc-status'] !== undefined) grpcStatus = Number(received['grpc-status']);
  });
  stream.on('wantTrailers', () => {
    stream.sendTrailers(endToEndHeaders(trailers ?? {}));
  });
  upstream.on('error', fail);
  upstream.on('close', () => {
    if (!stream.headersSent) { fail(Object.assign(new Error(`stream reset (code ${upstream.rstCode ?? 0})`), { code: 'ERR_HTTP2_STREAM_ERROR' })); return; }
    if ((upstream.rstCode ?? 0) !== 0 && !stream.closed) stream.close(upstream.rstCode);
    settle(status, L7_VERDICT.FORWARDED, grpcStatus);
  });
  // The client reset or went away: cancel upstream.
  stream.on('close', () => {
    if (!upstream.closed) upstream.close(NGHTTP2_CANCEL);
    settle(status, L7_VERDICT.FORWARDED, grpcStatus, stream.rstCode === 0 ? undefined : `client reset the stream (code ${stream.rstCode})`);
  });
  if (!stream.readableEnded) stream.pipe(upstream);
}
