// HTTP/1.1 (and 1.0) through the proxy, on raw sockets: request heads parsed here
// (../http1-head.ts), decided by the matcher, written to a pooled upstream connection with
// the hop-by-hop fields removed, and bodies passed on as they arrive, delimited by their
// framing (Content-Length, or the chunked coding followed by ../http1-chunked.ts): never
// buffered whole, with backpressure both ways. Keep-alive on both sides.
//
// Pipelining (RFC 9112 §9.3.2) is refused cleanly: a request that arrives while an
// earlier one on the connection is unanswered is not forwarded; the earlier one is
// answered (with `Connection: close` when its head is not sent yet) and the connection
// is then closed. The client retries the unanswered requests on a new connection, as
// RFC 9112 §9.3.2 requires of a pipelining client.
//
// Upgrade (RFC 9110 §7.8): a request the rules allow may switch to a protocol the proxy
// lets through (WebSocket by default, never h2c): its Upgrade field goes on, and on the
// destination's 101 the connection becomes a tunnel whose bytes pass both ways
// uninspected, as Cilium's proxy passes WebSocket. Any other upgrade is refused by leaving
// the hop-by-hop Upgrade field out: the destination answers the request itself (a server
// MAY ignore Upgrade). CONNECT is answered 405 and closed.
//
// One `Http1Connection` per client connection; its handlers are made once, and a request
// allocates only its head's strings, the facts the matcher reads and its flow record.
import { STATUS_CODES } from 'node:http';
import { type Socket } from 'node:net';

import { type HttpRequestFacts } from '@twill/policy-engine';

import { closingResponse, deniedText, formatEndpoint, type HttpProblem, upstreamFailure } from '../http-semantics.js';
import { L7_VERDICT, type L7Verdict } from '../ports.js';
import { type ConnectionContext, decideRequest, type ProxyShared, recordRequest, ruleLabels } from './context.js';
import { ChunkedDecoder } from '../http1-chunked.js';
import { BODY, type BodyFraming, FIELD, findHeadEnd, hasBareLf, Http1Head, parseRequestHead, parseResponseHead } from '../http1-head.js';
import { type Http1Pool, type UpstreamOwner, type UpstreamSocket } from './http1-pool.js';

/** Most bytes of a response head from a destination. */
const MAX_RESPONSE_HEAD_BYTES = 64 * 1024;
/** Up to this many bytes queued for one write are copied into one buffer (one write(2)); more go out corked (writev). */
const COALESCE_BYTES = 16 * 1024;
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
const HTTP11 = Buffer.from('HTTP/1.1', 'latin1');
const CHUNKED_FIELD = Buffer.from('Transfer-Encoding: chunked\r\n', 'latin1');
const TE_TRAILERS_FIELD = Buffer.from('TE: trailers\r\n', 'latin1');
const CLOSE_FIELD = Buffer.from('Connection: close\r\n', 'latin1');
const KEEP_ALIVE_FIELD = Buffer.from('Connection: keep-alive\r\n', 'latin1');

const REQUEST = { HEAD: 0, BODY: 1 } as const;

// Writes wait for the end of the event loop's turn: every connection with bytes queued
// while the turn's I/O events were handled writes them then, together (one write(2) per
// socket and side). A proxy that writes as it reads wakes the destination for each request
// and is preempted by it, once per request on a busy machine; writing after the reads lets
// the woken processes find several requests waiting.
const queued: Http1Connection[] = [];
let flushScheduled = false;

function queueFlush(connection: Http1Connection): void {
  queued.push(connection);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushQueued);
  }
}

function flushQueued(): void {
  flushScheduled = false;
  // Connections queued while these write (a write's own events come later) wait for the next turn.
  const count = queued.length;
  for (let i = 0; i < count; i += 1) (queued[i] as Http1Connection).flushNow();
  queued.splice(0, count);
}
const RESPONSE = { NONE: 0, HEAD: 1, BODY: 2, DONE: 3 } as const;

/**
 * Bytes waiting for one socket. Consecutive ranges of one piece of memory are joined (a
 * head passed on unchanged is one range however many lines it was queued as), and a
 * range becomes a Buffer only when the next one does not continue it or at the flush:
 * queuing a request head line by line allocates nothing.
 */
class Outbox {
  private readonly items: Buffer[] = [];
  /** The range being extended, as its memory and offsets there; `openWhole`: the buffer it is exactly, if any. */
  private openMemory: ArrayBufferLike | undefined;
  private openFrom = 0;
  private openTo = 0;
  private openWhole: Buffer | undefined;
  bytes = 0;

  /** Nothing queued. */
  get empty(): boolean {
    return this.openMemory === undefined && this.items.length === 0;
  }

  /** Queues `buffer[start, end)`. */
  range(buffer: Buffer, start: number, end: number): void {
    if (end <= start) return;
    this.bytes += end - start;
    const from = buffer.byteOffset + start;
    // Adjacent in memory to the open range (the next line of the same head, or two small buffers of Node's pool): one range.
    if (this.openMemory === buffer.buffer && this.openTo === from) {
      this.openTo = from + end - start;
      this.openWhole = undefined;
      return;
    }
    this.close();
    this.openMemory = buffer.buffer;
    this.openFrom = from;
    this.openTo = from + end - start;
    this.openWhole = start === 0 && end === buffer.length ? buffer : undefined;
  }

  /** Queues a whole buffer. */
  add(buffer: Buffer): void {
    this.range(buffer, 0, buffer.length);
  }

  clear(): void {
    if (this.items.length > 0) this.items.length = 0;
    this.openMemory = undefined;
    this.openWhole = undefined;
    this.bytes = 0;
  }

  /** What is queued, as one buffer (still queued). */
  joined(): Buffer {
    this.close();
    return this.items.length === 1 ? (this.items[0] as Buffer) : Buffer.concat(this.items, this.bytes);
  }

  /** Writes what is queued as one buffer when small, and returns `socket.write`'s answer. */
  flush(socket: Socket): boolean {
    this.close();
    const items = this.items;
    let more = true;
    if (items.length === 1) more = socket.write(items[0] as Buffer);
    else if (this.bytes <= COALESCE_BYTES) more = socket.write(Buffer.concat(items, this.bytes));
    else {
      socket.cork();
      for (const item of items) more = socket.write(item);
      socket.uncork();
    }
    this.clear();
    return more;
  }

  /** Makes the open range an item. */
  private close(): void {
    const memory = this.openMemory;
    if (memory === undefined) return;
    this.items.push(this.openWhole ?? Buffer.from(memory, this.openFrom, this.openTo - this.openFrom));
    this.openMemory = undefined;
    this.openWhole = undefined;
  }
}

/**
 * What a rule matcher sees of a request. Its headers are made into an object only if the
 * matcher asks (a header rule), while the head they come from is current: the connection
 * calls {@link settle} once the matcher has decided.
 */
class Http1Facts implements HttpRequestFacts {
  readonly host?: string;
  private head: Http1Head | undefined;
  private fields: Record<string, string | string[]> | undefined;

  constructor(readonly method: string, readonly path: string, host: string | undefined, head: Http1Head) {
    if (host !== undefined) this.host = host;
    this.head = head;
  }

  get headers(): Record<string, string | string[]> {
    this.fields ??= this.head === undefined ? {} : this.head.record();
    return this.fields;
  }

  /** The head is about to be reused: headers not read by now are not kept. */
  settle(): void {
    this.head = undefined;
  }
}

/** One client connection speaking HTTP/1.x. */
export class Http1Connection implements UpstreamOwner {
  // Request side.
  private pending: Buffer | undefined;
  private phase: number = REQUEST.HEAD;
  private readonly head = new Http1Head();
  private bodyFraming: BodyFraming = BODY.NONE;
  private bodyLeft = 0;
  private readonly requestChunks: ChunkedDecoder;
  /** false: the body of a denied request is read and dropped. */
  private forwarding = false;
  private requestDone = true;
  /** A request is being answered (forwarded, response not complete). */
  private inFlight = false;
  /** Close once the current answer is complete. */
  private closing = false;
  private paused = false;
  // The request being answered.
  private facts: Http1Facts | undefined;
  private lastBy: readonly { readonly label: string }[] = [];
  private protocol = 'HTTP/1.1';
  private start = 0n;
  private rules: readonly string[] = [];
  private retryHead: Buffer | undefined;
  private retried = false;
  private sent100 = false;
  /** The request in flight asks for an upgrade the proxy lets through: its Upgrade field went on, naming only those protocols. */
  private upgrading = false;
  private upgradeTo = '';
  /** After the destination's 101: bytes pass both ways, uninspected, until either side ends. */
  private tunnel = false;
  // Upstream.
  private pool: Http1Pool | undefined;
  private upstream: UpstreamSocket | undefined;
  private readonly toUpstream = new Outbox();
  private wroteUpstream = false;
  // Response side.
  private responsePhase: number = RESPONSE.NONE;
  private responsePending: Buffer | undefined;
  private readonly responseHead = new Http1Head();
  private responseFraming: BodyFraming = BODY.NONE;
  private responseLeft = 0;
  private readonly responseChunks: ChunkedDecoder;
  private dechunk = false;
  private upstreamReusable = false;
  private status = 0;
  private headSent = false;
  private readonly toClient = new Outbox();
  /** In the queue of connections to write at the end of this turn. */
  private flushQueued = false;
  // Timers, milliseconds since the epoch (0: not running); checked by `checkTimers`.
  private headSince: number;
  private requestSince = 0;
  private idleSince = 0;
  private endedAt = 0;

  constructor(private readonly shared: ProxyShared, private readonly context: ConnectionContext, private readonly socket: Socket) {
    this.requestChunks = new ChunkedDecoder(shared.limits.maxHeaderBytes);
    this.responseChunks = new ChunkedDecoder(MAX_RESPONSE_HEAD_BYTES);
    this.headSince = Date.now();
    // The proxy ends its side itself, after its answer: a client that half-closes still gets it (and a tunnel's half-close is passed on).
    socket.allowHalfOpen = true;
    socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('close', this.onClose);
    socket.on('end', this.onEnd);
  }

  /** Serves `first`, the bytes read while the protocol was sniffed, and then the socket. */
  begin(first: Buffer): void {
    this.onData(first);
  }

  // ---- the client's bytes ------------------------------------------------------------

  private readonly onData = (chunk: Buffer): void => {
    if (this.closing && !this.inFlight && this.requestDone) return;
    if (this.tunnel) {
      this.toUpstream.add(chunk);
      this.scheduleFlush();
      return;
    }
    let bytes = chunk;
    if (this.pending !== undefined) {
      bytes = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let at = 0;
    const end = bytes.length;
    while (at < end && !this.socket.destroyed) {
      if (this.phase === REQUEST.BODY) {
        at = this.readBody(bytes, at, end);
        if (at < 0) return;
        continue;
      }
      if (this.closing) break; // after a refused pipelined request, or a close already decided
      if (this.inFlight && this.upgrading) {
        this.holdEarly(bytes, at);
        break;
      }
      if (this.inFlight) {
        this.refusePipelined(bytes, at);
        break;
      }
      // RFC 9112 §2.2: empty lines before a request line are ignored.
      while (at + 1 < end && bytes[at] === 0x0d && bytes[at + 1] === 0x0a) at += 2;
      if (at >= end) break;
      if (this.headSince === 0) {
        this.headSince = Date.now();
        this.idleSince = 0;
      }
      const headEnd = findHeadEnd(bytes, at);
      if (headEnd < 0) {
        if (end - at > this.shared.limits.maxHeaderBytes) { this.refuse({ status: 431, why: 'request header fields too large', close: true }, false); return; }
        if (hasBareLf(bytes, at, end)) { this.refuse({ status: 400, why: 'bare LF line ending in the request head (RFC 9112 §2.2)', close: true }, false); return; }
        this.pending = bytes.subarray(at);
        break;
      }
      if (headEnd - at > this.shared.limits.maxHeaderBytes) { this.refuse({ status: 431, why: 'request header fields too large', close: true }, false); return; }
      const problem = parseRequestHead(bytes, at, headEnd, this.head);
      if (problem !== undefined) { this.refuse(problem, true); return; }
      at = headEnd;
      this.beginRequest();
    }
    this.scheduleFlush();
  };

  private readBody(bytes: Buffer, at: number, end: number): number {
    let to: number;
    if (this.bodyFraming === BODY.LENGTH) {
      to = at + Math.min(this.bodyLeft, end - at);
      this.bodyLeft -= to - at;
      if (this.forwarding) this.toUpstream.range(bytes, at, to);
      if (this.bodyLeft === 0) this.requestComplete();
      return to;
    }
    to = this.requestChunks.feed(bytes, at, end);
    if (to < 0) {
      this.badBody(this.requestChunks.error);
      return -1;
    }
    if (this.forwarding) this.toUpstream.range(bytes, at, to);
    if (this.requestChunks.done) this.requestComplete();
    return to;
  }

  private requestComplete(): void {
    this.phase = REQUEST.HEAD;
    this.requestDone = true;
    this.requestSince = 0;
    if (!this.inFlight) this.idle();
  }

  // ---- one request -------------------------------------------------------------------

  private beginRequest(): void {
    const head = this.head;
    const { context, shared } = this;
    this.headSince = 0;
    this.start = shared.now();
    this.protocol = head.minor === 0 ? 'HTTP/1.0' : 'HTTP/1.1';
    const facts = requestFacts(head);
    this.facts = facts;
    // Connection: close, or HTTP/1.0 without Connection: keep-alive (RFC 9112 §9.3; an
    // HTTP/1.0 client that asks for keep-alive is kept while answers carry their length).
    if (head.close) this.closing = true;
    this.bodyFraming = head.framing;
    this.bodyLeft = head.length;
    this.requestDone = head.framing === BODY.NONE || (head.framing === BODY.LENGTH && head.length === 0);
    if (head.framing === BODY.CHUNKED) this.requestChunks.reset();
    if (!this.requestDone) {
      this.phase = REQUEST.BODY;
      if (shared.limits.requestTimeoutMs > 0) this.requestSince = Date.now();
    }

    const decision = decideRequest(context, facts);
    facts.settle();
    if (!decision.allowed) {
      // The body, if any, is read and dropped so the connection stays usable; a client that
      // waits for 100 Continue sends none, so its framing is unknown: close after the 403.
      if (head.expectContinue && !this.requestDone) this.closing = true;
      this.forwarding = false;
      const text = deniedText(decision.why);
      this.toClient.add(Buffer.from(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n${this.closing ? 'Connection: close\r\n' : head.minor === 0 ? 'Connection: keep-alive\r\n' : ''}\r\n${text}`, 'latin1'));
      this.record(403, L7_VERDICT.DENIED, [], decision.why);
      if (this.closing) this.endClient();
      else {
        this.scheduleFlush();
        if (this.requestDone) this.idle();
      }
      return;
    }
    // The same rules allow request after request on a connection: their labels are kept.
    if (!sameRules(decision.by, this.lastBy)) {
      this.lastBy = decision.by;
      this.rules = ruleLabels(decision.by);
    }
    this.forwarding = true;
    this.inFlight = true;
    this.retried = false;
    this.sent100 = false;
    this.headSent = false;
    this.status = 0;
    this.wroteUpstream = false;
    this.responsePhase = RESPONSE.HEAD;
    this.upgradeTo = head.upgrade !== '' && head.minor >= 1 && this.requestDone ? allowedUpgrades(head.upgrade, shared.upgrades) : '';
    this.upgrading = this.upgradeTo !== '';
    this.responsePending = undefined;
    if (head.expectContinue && head.minor >= 1 && !this.requestDone) {
      this.sent100 = true;
      this.toClient.add(CONTINUE);
    }
    this.upstreamHead(facts);
    // A request without a body may be sent again on a new connection when a reused one turns out closed.
    this.retryHead = !this.requestDone ? undefined : this.toUpstream.joined();
    this.acquire();
  }

  // Queues the request head for the destination: the request line in origin form, HTTP/1.1
  // (RFC 9112 §3.2); Host as the matcher saw it; the fields as sent, less the hop-by-hop
  // ones (RFC 9110 §7.6.1) and Expect (answered here); TE: trailers kept (RFC 9110
  // §10.1.4); a chunked body passed on chunked whatever the method. Unchanged lines are
  // slices of the bytes received, so a plain request goes on as the very bytes it came in.
  private upstreamHead(facts: HttpRequestFacts): void {
    const head = this.head;
    const bytes = head.bytes;
    const out = this.toUpstream;
    const absolute = facts.path !== head.target;
    if (head.plainLine && !absolute) out.range(bytes, head.start, head.lineEnd + 2);
    else out.add(Buffer.from(`${head.method} ${facts.path} HTTP/1.1\r\n`, 'latin1'));
    // An HTTP/1.0 request may lack Host; the upstream request is HTTP/1.1, which must carry one.
    if (absolute || head.host === undefined) out.add(Buffer.from(`Host: ${facts.host ?? formatEndpoint(this.context.destination)}\r\n`, 'latin1'));
    for (let i = 0; i < head.count; i += 1) {
      const kind = head.kind(i);
      if (kind === FIELD.PLAIN || kind === FIELD.CONTENT_LENGTH || (kind === FIELD.HOST && !absolute)) out.range(bytes, head.lineStartOf(i), head.lineStopOf(i));
    }
    if (head.teTrailers) out.add(TE_TRAILERS_FIELD);
    if (head.framing === BODY.CHUNKED) out.add(CHUNKED_FIELD);
    if (this.upgrading) out.add(upgradeFields(this.upgradeTo));
    out.range(bytes, head.end - 2, head.end);
  }

  private acquire(): void {
    if (this.pool === undefined || this.pool.isClosed) this.pool = this.shared.pools.http1(this.context.client, this.context.destination);
    const upstream = this.pool.acquire(this);
    if (upstream === undefined) this.pause(); // waits for a socket: read nothing more meanwhile
    else this.upstream = upstream;
  }

  /** A waiting request gets its socket. */
  onUpstream(upstream: UpstreamSocket): void {
    if (!this.inFlight || this.socket.destroyed) {
      this.pool?.release(upstream, !upstream.socket.destroyed);
      return;
    }
    this.upstream = upstream;
    // Reading resumes, unless the queued bytes fill the new socket's buffer (the flush pauses again).
    this.resume();
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushQueued || (this.toUpstream.empty && this.toClient.empty)) return;
    this.flushQueued = true;
    queueFlush(this);
  }

  /** @internal Writes what is queued for either side, at the end of the event loop's turn. */
  flushNow(): void {
    this.flushQueued = false;
    this.flushUpstream();
    this.flushClient();
  }

  private flushUpstream(): void {
    const upstream = this.upstream;
    if (upstream === undefined || this.toUpstream.empty) return;
    if (upstream.socket.destroyed) {
      this.toUpstream.clear();
      return;
    }
    const more = this.toUpstream.flush(upstream.socket);
    this.wroteUpstream = true;
    if (!more) this.pause();
  }

  /** Ends the client side after what is queued for it, and `last`. */
  private endClient(last?: string): void {
    this.flushClient();
    if (last === undefined) this.socket.end();
    else this.socket.end(last, 'latin1');
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
  }

  /** @internal */
  onUpstreamDrain(): void {
    this.resume();
  }

  // ---- the destination's bytes -------------------------------------------------------

  /** @internal */
  onUpstreamData(chunk: Buffer): void {
    if (this.tunnel) {
      this.toClient.add(chunk);
      this.scheduleFlush();
      return;
    }
    let bytes = chunk;
    if (this.responsePending !== undefined) {
      bytes = Buffer.concat([this.responsePending, chunk]);
      this.responsePending = undefined;
    }
    let at = 0;
    const end = bytes.length;
    while (at < end) {
      if (this.responsePhase === RESPONSE.HEAD) {
        const headEnd = findHeadEnd(bytes, at);
        if (headEnd < 0) {
          if (end - at > MAX_RESPONSE_HEAD_BYTES) { this.upstreamBroken('response head too large'); return; }
          this.responsePending = bytes.subarray(at);
          break;
        }
        const problem = parseResponseHead(bytes, at, headEnd, this.responseHead, this.head.method);
        if (problem !== undefined) { this.upstreamBroken(`malformed response: ${problem.why}`); return; }
        at = headEnd;
        this.beginResponse();
        if (this.socket.destroyed || this.upstream === undefined) return;
        if (this.tunnel) {
          // What follows the 101 is the new protocol's.
          this.toClient.range(bytes, at, end);
          break;
        }
      } else if (this.responsePhase === RESPONSE.BODY) {
        at = this.readResponseBody(bytes, at, end);
        if (at < 0) return;
      } else {
        // Bytes after the response: the connection cannot be reused.
        this.upstreamReusable = false;
        break;
      }
    }
    if (this.responsePhase === RESPONSE.DONE) this.responseComplete();
    else this.scheduleFlush();
  }

  private beginResponse(): void {
    const head = this.responseHead;
    const status = head.status;
    if (status === 101) {
      if (!this.upgrading) { this.upstreamBroken('101 Switching Protocols to a request without Upgrade'); return; }
      if (head.upgrade === '') { this.upstreamBroken('101 Switching Protocols without Upgrade and Connection: upgrade (RFC 9110 §15.2.2)'); return; }
      // RFC 9110 §7.8: the server switches to one of the protocols asked for; only those the proxy let through were.
      const to = protocolName(head.upgrade);
      if (!allowedUpgrades(this.upgradeTo, this.shared.upgrades).split(', ').some((asked) => protocolName(asked) === to)) {
        this.upstreamBroken(`101 Switching Protocols to ${JSON.stringify(head.upgrade)}, which the request did not ask for`);
        return;
      }
      this.beginTunnel(head);
      return;
    }
    if (status < 200) {
      // 1xx go to HTTP/1.1 clients (RFC 9110 §15.2).
      if (this.head.minor >= 1 && !(status === 100 && this.sent100)) this.clientHead(head, false);
      return;
    }
    this.status = status;
    if (this.upgrading) {
      // The destination answers the request itself: no upgrade. Bytes the client sent meanwhile were for the new protocol: close after this answer.
      this.upgrading = false;
      if (this.pending !== undefined) {
        this.pending = undefined;
        this.closing = true;
      }
    }
    this.upstreamReusable = !head.close && head.framing !== BODY.UNTIL_CLOSE;
    this.responseFraming = head.framing;
    this.responseLeft = head.length;
    // An HTTP/1.0 client cannot read chunked: it gets the data, delimited by the close.
    this.dechunk = head.framing === BODY.CHUNKED && this.head.minor === 0;
    if (head.framing === BODY.CHUNKED) this.responseChunks.reset();
    if (head.framing === BODY.UNTIL_CLOSE || this.dechunk) this.closing = true;
    // The request body is still coming and the answer is starting: close after it (RFC 9112 §9.6).
    if (!this.requestDone && head.framing === BODY.NONE) this.closing = true;
    this.clientHead(head, true);
    this.headSent = true;
    this.responsePhase = head.framing === BODY.NONE || (head.framing === BODY.LENGTH && head.length === 0) ? RESPONSE.DONE : RESPONSE.BODY;
  }

  // Queues the response head for the client: HTTP/1.1, the destination's fields less the
  // hop-by-hop ones; the framing and Connection: close written by the proxy.
  private clientHead(head: Http1Head, final: boolean, extra?: Buffer): void {
    const bytes = head.bytes;
    const out = this.toClient;
    if (head.minor === 1) out.range(bytes, head.start, head.lineEnd + 2);
    else {
      out.add(HTTP11);
      out.range(bytes, head.start + 8, head.lineEnd + 2);
    }
    for (let i = 0; i < head.count; i += 1) {
      const kind = head.kind(i);
      if (kind === FIELD.PLAIN || kind === FIELD.CONTENT_LENGTH || kind === FIELD.HOST || kind === FIELD.EXPECT) out.range(bytes, head.lineStartOf(i), head.lineStopOf(i));
    }
    if (final) {
      if (head.framing === BODY.CHUNKED && !this.dechunk) out.add(CHUNKED_FIELD);
      if (this.closing) out.add(CLOSE_FIELD);
      // An HTTP/1.0 client closes unless told the connection persists (RFC 9112 §9.3).
      else if (this.head.minor === 0) out.add(KEEP_ALIVE_FIELD);
    }
    if (extra !== undefined) out.add(extra);
    // The head's own empty line: a response passed on unchanged stays one range with its body's first bytes (one write, no copy).
    out.range(bytes, head.end - 2, head.end);
  }

  // The destination switched protocols: the 101 goes to the client with the upgrade fields,
  // the request is recorded, and from now on bytes pass both ways as they come.
  private beginTunnel(head: Http1Head): void {
    this.upgrading = false;
    // Each side's end is passed on to the other, which may go on sending (TCP half-close).
    if (this.upstream !== undefined) {
      this.upstream.socket.allowHalfOpen = true;
      this.pool?.detach(this.upstream);
    }
    this.tunnel = true;
    this.status = 101;
    this.headSent = true;
    this.responsePhase = RESPONSE.NONE;
    this.requestSince = 0;
    this.headSince = 0;
    this.idleSince = 0;
    this.clientHead(head, false, upgradeFields(head.upgrade));
    this.record(101, L7_VERDICT.FORWARDED, this.rules);
    if (this.pending !== undefined) {
      this.toUpstream.add(this.pending);
      this.pending = undefined;
    }
    this.resume();
  }

  // Bytes after an upgrade request, before its answer: the new protocol's if the destination
  // switches (held, at most a header's worth), else the connection closes after the answer.
  private holdEarly(bytes: Buffer, at: number): void {
    if (bytes.length - at > this.shared.limits.maxHeaderBytes) {
      this.socket.destroy();
      return;
    }
    this.pending = bytes.subarray(at);
    this.pause();
  }

  private readonly onDechunked = (bytes: Buffer, start: number, end: number): void => {
    this.toClient.range(bytes, start, end);
  };

  private readResponseBody(bytes: Buffer, at: number, end: number): number {
    if (this.responseFraming === BODY.LENGTH) {
      const to = at + Math.min(this.responseLeft, end - at);
      this.responseLeft -= to - at;
      this.toClient.range(bytes, at, to);
      if (this.responseLeft === 0) this.responsePhase = RESPONSE.DONE;
      return to;
    }
    if (this.responseFraming === BODY.CHUNKED) {
      const to = this.responseChunks.feed(bytes, at, end, this.dechunk ? this.onDechunked : undefined);
      if (to < 0) { this.upstreamBroken(`malformed chunked response: ${this.responseChunks.error}`); return -1; }
      if (!this.dechunk) this.toClient.range(bytes, at, to);
      if (this.responseChunks.done) this.responsePhase = RESPONSE.DONE;
      return to;
    }
    // Until the close.
    this.toClient.range(bytes, at, end);
    return end;
  }

  private flushClient(): void {
    if (this.toClient.empty) return;
    if (this.socket.destroyed) {
      this.toClient.clear();
      return;
    }
    const more = this.toClient.flush(this.socket);
    // The destination waits while the client is slow to read the rest of a response.
    if (!more && (this.responsePhase === RESPONSE.BODY || this.tunnel)) this.upstream?.socket.pause();
  }

  private readonly onDrain = (): void => {
    this.upstream?.socket.resume();
  };

  private responseComplete(): void {
    this.responsePhase = RESPONSE.NONE;
    this.inFlight = false;
    const upstream = this.upstream;
    this.upstream = undefined;
    if (upstream !== undefined) {
      upstream.socket.resume();
      // The rest of the request body would reach the destination as another request: not reusable then.
      this.pool?.release(upstream, this.upstreamReusable && this.requestDone && this.toUpstream.empty);
    }
    // What is still queued of the body is this request's: it goes nowhere now (never in front of the next request).
    this.toUpstream.clear();
    this.record(this.status, L7_VERDICT.FORWARDED, this.rules);
    if (!this.requestDone) {
      // The destination answered before the request body was all sent: the rest is read and dropped.
      this.closing = true;
      this.forwarding = false;
    }
    if (this.closing) this.endClient();
    else {
      this.scheduleFlush();
      this.idle();
    }
  }

  /** @internal */
  onUpstreamEnd(): void {
    if (this.tunnel) {
      this.endClient();
      return;
    }
    if (this.responsePhase === RESPONSE.BODY && this.responseFraming === BODY.UNTIL_CLOSE) {
      this.responsePhase = RESPONSE.DONE;
      this.upstreamReusable = false;
      this.responseComplete();
    }
  }

  /** @internal */
  onUpstreamClose(error: Error | undefined): void {
    if (this.tunnel) {
      this.upstream = undefined;
      if (error !== undefined) this.socket.destroy();
      else if (!this.socket.destroyed) this.endClient();
      return;
    }
    if (!this.inFlight) return;
    const upstream = this.upstream;
    this.upstream = undefined;
    if (upstream === undefined) return;
    // A kept-alive connection the destination closed meanwhile (RFC 9112 §9.3.1): a request without a body is sent again, once.
    if (this.responsePhase === RESPONSE.HEAD && this.responsePending === undefined && upstream.reused && !this.retried && this.retryHead !== undefined && this.pool !== undefined && !this.socket.destroyed) {
      this.retried = true;
      this.upstream = this.pool.fresh(this);
      this.toUpstream.clear();
      this.toUpstream.add(this.retryHead);
      this.scheduleFlush();
      return;
    }
    this.upstreamBroken(error ?? new Error('closed the connection before the response ended'));
  }

  // The destination failed: a 502/503 when nothing of the response was sent, else the client connection is cut.
  private upstreamBroken(cause: Error | string): void {
    const error = typeof cause === 'string' ? new Error(cause) : cause;
    const failure = upstreamFailure(error, this.context.destination);
    const upstream = this.upstream;
    this.upstream = undefined;
    upstream?.socket.destroy();
    this.inFlight = false;
    this.responsePhase = RESPONSE.NONE;
    this.toClient.clear();
    this.closing = true;
    if (!this.headSent && !this.socket.destroyed) {
      this.endClient(closingResponse(failure.status, STATUS_CODES[failure.status] ?? 'Bad Gateway', `${failure.why}\n`));
      this.record(failure.status, L7_VERDICT.UPSTREAM_ERROR, this.rules, failure.why);
    } else {
      this.socket.destroy();
      this.record(this.headSent ? this.status : 0, L7_VERDICT.UPSTREAM_ERROR, this.rules, failure.why);
    }
  }

  // ---- refusals, timers, close ---------------------------------------------------------

  // A malformed or over-limit request head: answered and closed, never forwarded.
  // `parsed`: the head holds this request's method and target (they are then recorded).
  private refuse(problem: HttpProblem, parsed: boolean): void {
    this.pending = undefined;
    this.closing = true;
    const facts = parsed && this.head.method !== '' ? requestFacts(this.head) : undefined;
    if (parsed) this.protocol = this.head.minor === 0 ? 'HTTP/1.0' : 'HTTP/1.1';
    if (!this.inFlight) this.endClient(closingResponse(problem.status, STATUS_CODES[problem.status] ?? 'Bad Request', `${problem.why}\n`));
    this.start = this.shared.now();
    this.recordInvalid(problem.status, problem.why, facts);
  }

  // A request that arrived before the answer to the one in flight: recorded, not forwarded.
  private refusePipelined(bytes: Buffer, at: number): void {
    this.closing = true;
    this.pause();
    const headEnd = findHeadEnd(bytes, at);
    let facts: HttpRequestFacts | undefined;
    if (headEnd > 0 && headEnd - at <= this.shared.limits.maxHeaderBytes) {
      const head = new Http1Head();
      if (parseRequestHead(bytes, at, headEnd, head) === undefined) facts = requestFacts(head);
    }
    this.recordInvalid(0, 'pipelined request refused: the connection closes after the earlier response (RFC 9112 §9.3.2)', facts);
  }

  // A chunked request body turned out malformed.
  private badBody(why: string): void {
    this.closing = true;
    const text = `${why}\n`;
    if (this.forwarding && this.inFlight) {
      const upstream = this.upstream;
      this.upstream = undefined;
      this.inFlight = false;
      this.responsePhase = RESPONSE.NONE;
      this.toUpstream.clear();
      // Nothing of it was written: the upstream connection is as clean as before.
      if (upstream !== undefined) this.pool?.release(upstream, !this.wroteUpstream);
      else this.pool?.cancel(this);
      if (this.headSent) this.socket.destroy();
      else this.endClient(closingResponse(400, 'Bad Request', text));
      this.record(this.headSent ? this.status : 400, L7_VERDICT.INVALID, [], why);
    } else {
      // A denied request's dropped body: its 403 is sent already.
      this.socket.destroy();
    }
  }

  private idle(): void {
    this.idleSince = Date.now();
    this.resume();
  }

  /** Applies the header, request and idle timeouts; called periodically with the time. */
  checkTimers(now: number): void {
    const { limits } = this.shared;
    if (this.socket.destroyed) return;
    if (this.tunnel) {
      // A tunnel lives as long as both sides keep it (WebSocket keeps itself alive with
      // pings); once the proxy ended the client's side, the client has the idle timeout to end its own.
      if (this.socket.writableFinished) {
        if (this.endedAt === 0) this.endedAt = now;
        else if (now - this.endedAt > limits.idleTimeoutMs) this.socket.destroy();
      }
      return;
    }
    // Ended by the proxy (an answer with Connection: close, a refusal, the idle timeout): a
    // client that does not close its side in a second is cut, so no half-open socket stays.
    if (this.socket.writableFinished) {
      if (this.endedAt === 0) this.endedAt = now;
      else if (now - this.endedAt > 1000) this.socket.destroy();
      return;
    }
    if (this.headSince !== 0 && now - this.headSince > limits.headersTimeoutMs && !this.inFlight && this.phase === REQUEST.HEAD) {
      this.headSince = 0;
      this.refuse({ status: 408, why: 'request not received in time', close: true }, false);
      return;
    }
    if (this.requestSince !== 0 && limits.requestTimeoutMs > 0 && now - this.requestSince > limits.requestTimeoutMs) {
      this.requestSince = 0;
      if (this.inFlight && this.headSent) this.socket.destroy();
      else {
        this.upstream?.socket.destroy();
        this.upstream = undefined;
        this.inFlight = false;
        this.refuse({ status: 408, why: 'request not received in time', close: true }, true);
      }
      return;
    }
    if (this.idleSince !== 0 && !this.inFlight && this.headSince === 0 && now - this.idleSince > limits.idleTimeoutMs) {
      // A request that arrives after the proxy's FIN could not be answered: none is taken.
      this.closing = true;
      this.endClient();
    }
  }

  private readonly onEnd = (): void => {
    if (this.tunnel) {
      // The client finished sending into the tunnel: so does the proxy, after what is queued.
      this.flushUpstream();
      this.upstream?.socket.end();
      return;
    }
    // The client finished sending: answer what is in flight, then close.
    this.closing = true;
    if (!this.inFlight) this.endClient();
  };

  private readonly onClose = (): void => {
    if (this.tunnel) {
      // Its request was recorded at the 101; the destination's side goes too (never back to the pool).
      this.upstream?.socket.destroy();
      this.upstream = undefined;
      return;
    }
    if (this.inFlight) {
      this.inFlight = false;
      const upstream = this.upstream;
      this.upstream = undefined;
      if (upstream !== undefined) this.pool?.release(upstream, false);
      else this.pool?.cancel(this);
      this.record(this.headSent ? this.status : 0, L7_VERDICT.FORWARDED, this.rules, 'the client closed the connection before the response ended');
    }
  };

  private record(status: number, verdict: L7Verdict, rules: readonly string[], why?: string): void {
    const facts = this.facts;
    if (facts === undefined) return;
    recordRequest(this.shared, { context: this.context, protocol: this.protocol, facts, start: this.start, status, verdict, rules, why });
  }

  private recordInvalid(status: number, why: string, facts: HttpRequestFacts | undefined): void {
    recordRequest(this.shared, {
      context: this.context, protocol: this.protocol, facts: facts ?? { method: '', path: '', headers: {} }, start: this.shared.now(),
      status, verdict: L7_VERDICT.INVALID, rules: [], why,
    });
  }
}

/** The first protocol an Upgrade field names, lower case, without its version (`websocket`, `h2c`). */
function protocolName(upgrade: string): string {
  const first = upgrade.split(',', 1)[0] ?? '';
  return (first.split('/', 1)[0] ?? '').trim().toLowerCase();
}

/** The protocols of an Upgrade field the proxy lets through (`websocket`, or `websocket/13`), in order, joined; empty when none. */
function allowedUpgrades(upgrade: string, allowed: ReadonlySet<string>): string {
  return upgrade.split(',').map((p) => p.trim()).filter((p) => p !== '' && allowed.has(protocolName(p))).join(', ');
}

/** The fields of an upgrade that goes on: Connection names it, Upgrade says to what. */
function upgradeFields(upgrade: string): Buffer {
  return Buffer.from(`Connection: Upgrade\r\nUpgrade: ${upgrade}\r\n`, 'latin1');
}

function sameRules(a: readonly { readonly label: string }[], b: readonly { readonly label: string }[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if ((a[i] as { label: string }).label !== (b[i] as { label: string }).label) return false;
  return true;
}

/**
 * What a rule matcher sees of a request: an absolute-form target (`GET http://api:8080/x`)
 * reduced to its origin form, its authority replacing Host (RFC 9112 §3.2.2). The request
 * still goes to the original destination, never to the authority it names.
 */
function requestFacts(head: Http1Head): Http1Facts {
  const target = head.target;
  if (target.charCodeAt(0) !== 0x2f && target !== '*') {
    const absolute = /^http:\/\/([^/?#]+)([^#]*)/i.exec(target);
    if (absolute !== null) {
      const rest = absolute[2] as string;
      return new Http1Facts(head.method, rest === '' ? '/' : rest.startsWith('?') ? `/${rest}` : rest, absolute[1] as string, head);
    }
  }
  return new Http1Facts(head.method, target, head.host, head);
}
