// The chunked transfer coding (RFC 9112 §7.1) as a small state machine over the bytes as
// they arrive: it finds where a chunked body ends without holding any of it, so the
// proxy can pass the bytes on as they are (or only their data, for an HTTP/1.0 client).
// No I/O; one decoder is reused body after body.
//
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   last-chunk   = 1*("0") [ chunk-ext ] CRLF

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const SEMI = 0x3b;
const COLON = 0x3a;

const HEX = new Int8Array(256).fill(-1);
for (let d = 0; d < 10; d += 1) HEX[0x30 + d] = d;
for (let d = 0; d < 6; d += 1) {
  HEX[0x41 + d] = 10 + d;
  HEX[0x61 + d] = 10 + d;
}
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;
const TEXT = new Uint8Array(256);
for (let b = 0; b < 256; b += 1) TEXT[b] = b === HTAB || (b >= SP && b !== 0x7f) ? 1 : 0;

const S = {
  SIZE_FIRST: 0,
  SIZE: 1,
  EXT: 2,
  SIZE_LF: 3,
  DATA: 4,
  DATA_CR: 5,
  DATA_LF: 6,
  TRAILER_START: 7,
  TRAILER_NAME: 8,
  TRAILER_VALUE: 9,
  TRAILER_LF: 10,
  END_LF: 11,
  DONE: 12,
} as const;
type State = (typeof S)[keyof typeof S];

/** Largest chunk size accepted: beyond it the arithmetic could lose precision (RFC 9112 §7.1: anticipate overflow). */
const MAX_CHUNK_SIZE = Number.MAX_SAFE_INTEGER;
/** Most bytes of chunk extensions on one chunk-size line. */
const MAX_EXTENSION_BYTES = 4096;

/** Receives the data of the chunks (not their framing), for callers that re-frame the body. */
export type ChunkDataSink = (bytes: Buffer, start: number, end: number) => void;

/** Finds the end of a chunked body; reused body after body. */
export class ChunkedDecoder {
  private state: State = S.SIZE_FIRST;
  private size = 0;
  private lineBytes = 0;
  private trailerBytes = 0;
  /** Why the body is malformed, after {@link feed} returned -1. */
  error = '';

  /** @param maxTrailerBytes most bytes of the trailer section. */
  constructor(private readonly maxTrailerBytes: number) {}

  /** Starts a new body. */
  reset(): void {
    this.state = S.SIZE_FIRST;
    this.size = 0;
    this.lineBytes = 0;
    this.trailerBytes = 0;
    this.error = '';
  }

  /** Whether the whole body, trailers and final CRLF included, has been read. */
  get done(): boolean {
    return this.state === S.DONE;
  }

  private fail(why: string): number {
    this.error = why;
    return -1;
  }

  /**
   * Reads `bytes[start, end)`.
   * @param data called with each run of chunk data, when given.
   * @returns the index just past the body when it ended within these bytes ({@link done}
   *   then holds), `end` when it needs more, or -1 when it is malformed ({@link error} says why).
   */
  feed(bytes: Buffer, start: number, end: number, data?: ChunkDataSink): number {
    let at = start;
    let state = this.state;
    while (at < end) {
      const b = bytes[at] as number;
      switch (state) {
        case S.SIZE_FIRST:
          if (HEX[b] === -1) return this.fail('invalid chunk size (RFC 9112 §7.1: 1*HEXDIG)');
          this.size = HEX[b] as number;
          this.lineBytes = 0;
          state = S.SIZE;
          at += 1;
          break;
        case S.SIZE: {
          const d = HEX[b] as number;
          if (d !== -1) {
            if (this.size > (MAX_CHUNK_SIZE - d) / 16) return this.fail('chunk size too large (RFC 9112 §7.1: overflow)');
            this.size = this.size * 16 + d;
          } else if (b === CR) state = S.SIZE_LF;
          else if (b === SEMI || b === SP || b === HTAB) state = S.EXT;
          else if (b === LF) return this.fail('chunk size line not ended by CRLF');
          else return this.fail('invalid chunk size (RFC 9112 §7.1: 1*HEXDIG)');
          at += 1;
          break;
        }
        case S.EXT:
          // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ): passed on, not interpreted.
          if (b === CR) state = S.SIZE_LF;
          else if (b === LF) return this.fail('chunk size line not ended by CRLF');
          else if (TEXT[b] !== 1) return this.fail('invalid byte in a chunk extension');
          else if (++this.lineBytes > MAX_EXTENSION_BYTES) return this.fail('chunk extensions too long');
          at += 1;
          break;
        case S.SIZE_LF:
          if (b !== LF) return this.fail('chunk size line not ended by CRLF');
          state = this.size === 0 ? S.TRAILER_START : S.DATA;
          at += 1;
          break;
        case S.DATA: {
          const n = Math.min(this.size, end - at);
          if (data !== undefined) data(bytes, at, at + n);
          this.size -= n;
          at += n;
          if (this.size === 0) state = S.DATA_CR;
          break;
        }
        case S.DATA_CR:
          if (b !== CR) return this.fail('chunk data longer than its size (no CRLF after it)');
          state = S.DATA_LF;
          at += 1;
          break;
        case S.DATA_LF:
          if (b !== LF) return this.fail('chunk data not followed by CRLF');
          state = S.SIZE_FIRST;
          at += 1;
          break;
        case S.TRAILER_START:
          if (b === CR) state = S.END_LF;
          else if (TCHAR[b] === 1) state = S.TRAILER_NAME;
          else return this.fail(b === SP || b === HTAB ? 'obsolete line folding in the trailer section (RFC 9112 §5.2)' : 'invalid trailer field name');
          if (++this.trailerBytes > this.maxTrailerBytes) return this.fail('trailer section too large');
          at += 1;
          break;
        case S.TRAILER_NAME:
          if (b === COLON) state = S.TRAILER_VALUE;
          else if (TCHAR[b] !== 1) return this.fail('invalid trailer field name (RFC 9110 §5.1: a token, then ":")');
          if (++this.trailerBytes > this.maxTrailerBytes) return this.fail('trailer section too large');
          at += 1;
          break;
        case S.TRAILER_VALUE:
          if (b === CR) state = S.TRAILER_LF;
          else if (b === LF) return this.fail('trailer line not ended by CRLF');
          else if (TEXT[b] !== 1) return this.fail('invalid byte in a trailer field value');
          if (++this.trailerBytes > this.maxTrailerBytes) return this.fail('trailer section too large');
          at += 1;
          break;
        case S.TRAILER_LF:
          if (b !== LF) return this.fail('trailer line not ended by CRLF');
          state = S.TRAILER_START;
          at += 1;
          break;
        case S.END_LF:
          if (b !== LF) return this.fail('chunked body not ended by CRLF');
          this.state = S.DONE;
          return at + 1;
        default:
          // DONE: the caller reads what follows as the next message.
          this.state = state;
          return at;
      }
    }
    this.state = state;
    return at;
  }
}
