// The frames between the native forwarder (@twill/sys's twill-forward) and a plugin
// server. Pure: bytes in, values out. Every integer is an unsigned 32-bit big-endian
// number; `str` and `bytes` are such a length followed by that many bytes.
//
//   request:  "TWQ1" u32 bodyLength | str plugin, u32 count, count x str "NAME=value", bytes stdin
//   response: "TWR1" u32 bodyLength | u32 exitCode, bytes stdout, bytes stderr
//
// One request per connection, one response, then the server closes it.
import { FrameError } from './errors.js';

/** The first four bytes of a request frame. */
export const REQUEST_MAGIC = 'TWQ1';
/** The first four bytes of a response frame. */
export const RESPONSE_MAGIC = 'TWR1';
/** Magic and body length. */
export const FRAME_HEADER_BYTES = 8;
/**
 * The largest request body: the plugins' 1 MiB stdin cap (the forwarder sends one byte
 * more, so that runPlugin reports an oversized config) plus room for the environment.
 */
export const MAX_REQUEST_BODY_BYTES = 2 * 1024 * 1024;
/** The largest response body the forwarder accepts. */
export const MAX_RESPONSE_BODY_BYTES = 8 * 1024 * 1024;
/** The most environment variables one request may carry. */
export const MAX_REQUEST_VARIABLES = 1024;

/** What the forwarder sends: the plugin's name (its argv[0] basename), environment and stdin. */
export interface PluginRequestFrame {
  /** The plugin's name: the basename of the forwarder's argv[0]. */
  readonly plugin: string;
  /** The CNI_* variables and PATH of the exec'd process. */
  readonly env: Readonly<Record<string, string>>;
  /** The configuration the runtime wrote to stdin. */
  readonly stdin: Uint8Array;
}

/** What the server answers: the forwarder writes both streams and exits with `exitCode`. */
export interface PluginResponseFrame {
  /** 0 to 255. */
  readonly exitCode: number;
  /** What the plugin wrote to stdout. */
  readonly stdout: Uint8Array;
  /** What the plugin wrote to stderr. */
  readonly stderr: Uint8Array;
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

class Writer {
  readonly #parts: Uint8Array[] = [];
  #length = 0;

  u32(value: number): void {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, value);
    this.#push(bytes);
  }

  bytes(value: Uint8Array): void {
    this.u32(value.length);
    this.#push(value);
  }

  #push(bytes: Uint8Array): void {
    this.#parts.push(bytes);
    this.#length += bytes.length;
  }

  frame(magic: string): Uint8Array {
    const out = new Uint8Array(FRAME_HEADER_BYTES + this.#length);
    out.set(utf8.encode(magic), 0);
    new DataView(out.buffer).setUint32(4, this.#length);
    let offset = FRAME_HEADER_BYTES;
    for (const part of this.#parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}

class Reader {
  #offset = FRAME_HEADER_BYTES;
  readonly #view: DataView;

  constructor(readonly frame: Uint8Array) {
    this.#view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  }

  u32(what: string): number {
    if (this.#offset + 4 > this.frame.length) throw new FrameError(`${what} runs past the end of the frame`, this.#offset);
    const value = this.#view.getUint32(this.#offset);
    this.#offset += 4;
    return value;
  }

  bytes(what: string): Uint8Array {
    const at = this.#offset;
    const length = this.u32(`${what}'s length`);
    if (length > this.frame.length - this.#offset) {
      throw new FrameError(`${what} (${length} bytes) runs past the end of the frame`, at);
    }
    const value = this.frame.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    return value;
  }

  text(what: string): string {
    const at = this.#offset;
    const bytes = this.bytes(what);
    try {
      return strictUtf8.decode(bytes);
    } catch {
      throw new FrameError(`${what} is not UTF-8`, at);
    }
  }

  get offset(): number {
    return this.#offset;
  }

  end(): void {
    if (this.#offset !== this.frame.length) {
      throw new FrameError(`${this.frame.length - this.#offset} bytes after the last field`, this.#offset);
    }
  }
}

/**
 * The whole length (header included) of the frame at the start of `bytes`, from its
 * header, or `undefined` while fewer than {@link FRAME_HEADER_BYTES} bytes are in.
 * @throws FrameError when the magic is not `magic` or the body is over `maxBody` bytes
 * (checked before the body arrives, so a peer cannot make the server buffer it).
 */
export function frameLength(bytes: Uint8Array, magic: string, maxBody: number): number | undefined {
  const seen = Math.min(bytes.length, 4);
  const expected = utf8.encode(magic);
  for (let i = 0; i < seen; i++) {
    if (bytes[i] !== expected[i]) throw new FrameError(`not a ${JSON.stringify(magic)} frame`, i);
  }
  if (bytes.length < FRAME_HEADER_BYTES) return undefined;
  const body = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4);
  if (body > maxBody) throw new FrameError(`a body of ${body} bytes is over the cap of ${maxBody}`, 4);
  return FRAME_HEADER_BYTES + body;
}

function checkWhole(frame: Uint8Array, magic: string, maxBody: number): void {
  const length = frameLength(frame, magic, maxBody);
  if (length === undefined) throw new FrameError(`a frame has ${FRAME_HEADER_BYTES} header bytes, got ${frame.length}`, 0);
  if (length !== frame.length) throw new FrameError(`the header says ${length} bytes, the frame has ${frame.length}`, 4);
}

/** Encodes a request frame (what twill-forward sends; tests and other clients use it). */
export function encodeRequestFrame(request: PluginRequestFrame): Uint8Array {
  const writer = new Writer();
  writer.bytes(utf8.encode(request.plugin));
  const entries = Object.entries(request.env);
  writer.u32(entries.length);
  for (const [name, value] of entries) writer.bytes(utf8.encode(`${name}=${value}`));
  writer.bytes(request.stdin);
  return writer.frame(REQUEST_MAGIC);
}

/**
 * Decodes one whole request frame.
 * @throws FrameError (CNI code 6) naming the field and offset: bad magic or length, an
 * empty plugin name or one with `/`, more than {@link MAX_REQUEST_VARIABLES} variables,
 * a variable without `NAME=` or given twice, text that is not UTF-8, a field running
 * past the frame, bytes left over.
 */
export function decodeRequestFrame(frame: Uint8Array): PluginRequestFrame {
  checkWhole(frame, REQUEST_MAGIC, MAX_REQUEST_BODY_BYTES);
  const reader = new Reader(frame);
  const pluginAt = reader.offset;
  const plugin = reader.text('the plugin name');
  if (plugin === '' || plugin.includes('/')) throw new FrameError(`invalid plugin name ${JSON.stringify(plugin)}`, pluginAt);
  const countAt = reader.offset;
  const count = reader.u32('the variable count');
  if (count > MAX_REQUEST_VARIABLES) throw new FrameError(`${count} variables, more than ${MAX_REQUEST_VARIABLES}`, countAt);
  const env: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const at = reader.offset;
    const entry = reader.text(`variable ${i}`);
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new FrameError(`variable ${i} ${JSON.stringify(entry.slice(0, 40))} is not NAME=value`, at);
    const name = entry.slice(0, eq);
    if (Object.hasOwn(env, name)) throw new FrameError(`variable ${name} is given twice`, at);
    env[name] = entry.slice(eq + 1);
  }
  const stdin = reader.bytes('stdin');
  reader.end();
  return { plugin, env, stdin };
}

/** Encodes a response frame (what a server answers). */
export function encodeResponseFrame(response: PluginResponseFrame): Uint8Array {
  if (!Number.isInteger(response.exitCode) || response.exitCode < 0 || response.exitCode > 255) {
    throw new RangeError(`exit code ${response.exitCode} is not 0 to 255`);
  }
  const writer = new Writer();
  writer.u32(response.exitCode);
  writer.bytes(response.stdout);
  writer.bytes(response.stderr);
  return writer.frame(RESPONSE_MAGIC);
}

/**
 * Decodes one whole response frame (what twill-forward reads; for tests and clients).
 * @throws FrameError (CNI code 6): bad magic or length, an exit code over 255, a field
 * running past the frame, bytes left over.
 */
export function decodeResponseFrame(frame: Uint8Array): PluginResponseFrame {
  checkWhole(frame, RESPONSE_MAGIC, MAX_RESPONSE_BODY_BYTES);
  const reader = new Reader(frame);
  const exitCode = reader.u32('the exit code');
  if (exitCode > 255) throw new FrameError(`exit code ${exitCode} is over 255`, FRAME_HEADER_BYTES);
  const stdout = reader.bytes('stdout');
  const stderr = reader.bytes('stderr');
  reader.end();
  return { exitCode, stdout, stderr };
}
