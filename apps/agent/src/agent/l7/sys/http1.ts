// HTTP/1.1 through the proxy, on Node's own server and client: keep-alive both ways,
// bodies (chunked or not) piped with backpressure, never buffered whole.
//
// Pipelining (RFC 9112 §9.3.2) is refused cleanly: a request that arrives while an
// earlier one on the connection is unanswered is not forwarded; the earlier one is
// answered (with `Connection: close` when its head is not sent yet) and the connection
// is then closed. The client retries the unanswered requests on a new connection, as
// RFC 9112 §9.3.2 requires of a pipelining client.
//
// Upgrade: the Upgrade field is hop-by-hop and never forwarded, so the destination
// answers the request normally; a server MAY ignore Upgrade (RFC 9110 §7.8). WebSocket
// and h2c upgrades are therefore never established through the proxy (L7 rules could not
// see inside them). CONNECT is answered 405 and closed.
import http from 'node:http';
import { type Socket } from 'node:net';

import { checkHttp1Request, clientErrorAnswer, closingResponse, deniedText, endToEndHeaders, formatEndpoint, http1RequestFacts, upstreamFailure } from '../http-semantics.js';
import { type HttpRequestFacts } from '@twill/policy-engine';

import { L7_VERDICT, type L7Verdict } from '../ports.js';
import { type ConnectionContext, decideRequest, emitFlow, getContext, type ProxyShared, recordRequest } from './context.js';

interface SocketState {
  /** Requests read and not yet answered in full. */
  inFlight: number;
  /** A pipelined request was seen: close once the answered ones are done. */
  closing: boolean;
}

const states = new WeakMap<Socket, SocketState>();

function stateOf(socket: Socket): SocketState {
  let state = states.get(socket);
  if (state === undefined) {
    state = { inFlight: 0, closing: false };
    states.set(socket, state);
  }
  return state;
}

/** The Node HTTP/1.1 server the proxy hands HTTP/1 connections to (it never listens itself). */
export function createHttp1Server(shared: ProxyShared): http.Server {
  const { limits } = shared;
  const server = http.createServer({
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.idleTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    requireHostHeader: true,
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => handleRequest(shared, req, res, false));
  // With this listener Node does not send `100 Continue` itself: policy decides first, so a
  // denied upload is refused before the client sends its body.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => handleRequest(shared, req, res, true));
  server.on('connect', (req: http.IncomingMessage, socket: Socket) => {
    const context = getContext(socket);
    socket.end(closingResponse(405, 'Method Not Allowed', 'CONNECT tunnels are not allowed through the L7 proxy\n'));
    if (context !== undefined) {
      recordRequest(shared, {
        context, protocol: `HTTP/${req.httpVersion}`, facts: { method: 'CONNECT', path: req.url ?? '', headers: req.headers }, start: shared.now(),
        status: 405, verdict: L7_VERDICT.INVALID, rules: [], why: 'CONNECT refused',
      });
    }
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const context = getContext(socket);
    const answer = clientErrorAnswer(error.code, (error as { rawPacket?: unknown }).rawPacket);
    // A request whose body turned out malformed (a bad chunk) after it was forwarded: its
    // response is the one to answer with, if none has started.
    const pending = (socket as { _httpMessage?: http.ServerResponse | null })._httpMessage;
    if (pending && !pending.headersSent && !pending.writableEnded && socket.writable) {
      stateOf(socket).closing = true;
      pending.writeHead(answer.status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      pending.end(`${answer.why}\n`, () => socket.destroy());
    } else if (!pending && socket.writable && error.code !== 'ECONNRESET') {
      socket.end(closingResponse(answer.status, http.STATUS_CODES[answer.status] ?? 'Bad Request', `${answer.why}\n`));
    } else socket.destroy();
    if (context !== undefined && error.code !== 'ECONNRESET') {
      emitFlow(shared, {
        time: Date.now(), client: context.client, destination: context.destination, protocol: 'HTTP/1.1',
        method: '', path: '', status: answer.status, latencyNs: 0, verdict: L7_VERDICT.INVALID, rules: [], why: answer.why,
      });
    }
  });
  return server;
}

function answer(res: http.ServerResponse, status: number, text: string, close: boolean): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(text);
}

function handleRequest(shared: ProxyShared, req: http.IncomingMessage, res: http.ServerResponse, expectContinue: boolean): void {
  const start = shared.now();
  const socket = req.socket;
  const context = getContext(socket);
  if (context === undefined) { socket.destroy(); return; }
  const state = stateOf(socket);
  const facts = http1RequestFacts(req.method ?? '', req.url ?? '', req.headers);
  const protocol = `HTTP/${req.httpVersion}`;

  if (state.inFlight > 0) {
    // Pipelined: never forwarded; the connection closes after the earlier answers.
    state.closing = true;
    req.resume();
    recordRequest(shared, {
      context, protocol, facts, start, status: 0, verdict: L7_VERDICT.INVALID, rules: [],
      why: 'pipelined request refused: the connection closes after the earlier response (RFC 9112 §9.3.2)',
    });
    return;
  }
  state.inFlight += 1;
  let done = false;
  const settle = (status: number, verdict: L7Verdict, rules: readonly string[], why?: string): void => {
    if (done) return;
    done = true;
    state.inFlight -= 1;
    recordRequest(shared, { context, protocol, facts, start, status, verdict, rules, why });
    if (state.closing && state.inFlight === 0) socket.end();
  };

  const problem = checkHttp1Request({
    method: req.method ?? '', url: req.url ?? '', httpVersionMajor: req.httpVersionMajor, httpVersionMinor: req.httpVersionMinor, rawHeaders: req.rawHeaders,
  });
  if (problem !== undefined) {
    if (problem.close) state.closing = true;
    answer(res, problem.status, `${problem.why}\n`, problem.close);
    settle(problem.status, L7_VERDICT.INVALID, [], problem.why);
    return;
  }

  const decision = decideRequest(context, facts);
  if (!decision.allowed) {
    // The unread body, if any, is read and dropped by Node so the connection stays usable.
    answer(res, 403, deniedText(decision.why), false);
    settle(403, L7_VERDICT.DENIED, [], decision.why);
    return;
  }
  const rules = decision.by.map((hit) => hit.label);
  if (expectContinue) res.writeContinue();
  forward(shared, context, req, res, facts, state, (status, verdict, why) => settle(status, verdict, rules, why));
}

function forward(
  shared: ProxyShared, context: ConnectionContext, req: http.IncomingMessage, res: http.ServerResponse, facts: HttpRequestFacts,
  state: SocketState, settle: (status: number, verdict: L7Verdict, why?: string) => void,
): void {
  const headers = endToEndHeaders(req.headers);
  delete headers.expect; // answered here: the client was told to continue
  // An absolute-form target keeps its authority as Host (RFC 9112 §3.2.2); it still goes to the original destination.
  // An HTTP/1.0 request may lack Host; the upstream request is HTTP/1.1, which must carry one (RFC 9112 §3.2).
  headers.host = facts.host ?? formatEndpoint(context.destination);
  // A chunked body is re-framed chunked whatever the method: Node frames GET, HEAD, DELETE,
  // OPTIONS and TRACE bodies only when told, and an unframed body would reach the
  // destination as another request that no rule was asked about.
  if (req.headers['transfer-encoding'] !== undefined) headers['transfer-encoding'] = 'chunked';
  const upstream = http.request({
    host: context.destination.address,
    port: context.destination.port,
    method: req.method,
    path: facts.path,
    headers,
    agent: shared.pools.agent(context.client, context.destination),
    setHost: false,
  });
  upstream.on('response', (upstreamRes: http.IncomingMessage) => {
    // The request turned out malformed mid-body and was answered 400 already (see clientError).
    if (res.headersSent || res.writableEnded) { upstreamRes.resume(); return; }
    const out = endToEndHeaders(upstreamRes.headers);
    if (state.closing) out.connection = 'close';
    res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, out);
    upstreamRes.pipe(res, { end: false });
    upstreamRes.on('end', () => {
      if (upstreamRes.rawTrailers.length > 0 && !res.hasHeader('content-length')) {
        const trailers: [string, string][] = [];
        for (let i = 0; i + 1 < upstreamRes.rawTrailers.length; i += 2) trailers.push([upstreamRes.rawTrailers[i] as string, upstreamRes.rawTrailers[i + 1] as string]);
        res.addTrailers(trailers);
      }
      res.end();
      settle(res.statusCode, L7_VERDICT.FORWARDED);
    });
    upstreamRes.on('error', (error) => {
      res.destroy(error);
      settle(res.statusCode, L7_VERDICT.UPSTREAM_ERROR, upstreamFailure(error, context.destination).why);
    });
  });
  upstream.on('error', (error) => {
    const failure = upstreamFailure(error, context.destination);
    if (!res.headersSent && !res.destroyed) {
      // The request body may be half sent: close after answering, the framing is unknown.
      state.closing = true;
      answer(res, failure.status, `${failure.why}\n`, true);
      settle(failure.status, L7_VERDICT.UPSTREAM_ERROR, failure.why);
    } else {
      res.destroy();
      settle(res.headersSent ? res.statusCode : 0, L7_VERDICT.UPSTREAM_ERROR, failure.why);
    }
    req.resume();
  });
  // The client went away before its answer was complete: stop the upstream request too.
  res.on('close', () => {
    if (!res.writableFinished) {
      upstream.destroy();
      settle(res.headersSent ? res.statusCode : 0, L7_VERDICT.FORWARDED, 'the client closed the connection before the response ended');
    }
  });
  req.on('error', () => upstream.destroy());
  req.pipe(upstream);
}
