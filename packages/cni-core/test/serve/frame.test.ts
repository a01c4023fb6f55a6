// The forwarder's frames: round trips, and a corpus of malformed frames, each refused
// with the field and offset named (CNI code 6).
import { describe, expect, it } from 'vitest';

import {
  decodeRequestFrame,
  decodeResponseFrame,
  encodeRequestFrame,
  encodeResponseFrame,
  FrameError,
  frameLength,
  MAX_REQUEST_BODY_BYTES,
  REQUEST_MAGIC,
} from '../../src/index.js';

const text = new TextEncoder();

function u32(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

function str(value: string): number[] {
  const bytes = [...text.encode(value)];
  return [...u32(bytes.length), ...bytes];
}

// A request frame from its body's bytes, with the right length unless `length` says otherwise.
function request(body: number[], length = body.length): Uint8Array {
  return Uint8Array.from([...text.encode('TWQ1'), ...u32(length), ...body]);
}

describe('request frames', () => {
  it('round-trips a request: the plugin name, the variables and the stdin bytes', () => {
    const frame = { plugin: 'twill-ipam', env: { CNI_COMMAND: 'ADD', PATH: '/usr/bin', CNI_ARGS: 'A=b=c' }, stdin: text.encode('{"cniVersion":"1.1.0"}') };
    expect(decodeRequestFrame(encodeRequestFrame(frame))).toEqual(frame);
  });

  it('lays the bytes out as documented (the forwarder writes exactly this)', () => {
    const bytes = encodeRequestFrame({ plugin: 'p', env: { CNI_COMMAND: 'DEL' }, stdin: text.encode('{}') });
    expect([...bytes]).toEqual([...text.encode('TWQ1'), ...u32(34), ...str('p'), ...u32(1), ...str('CNI_COMMAND=DEL'), ...str('{}')]);
  });

  it('frameLength waits for the header, then gives the whole length', () => {
    const bytes = encodeRequestFrame({ plugin: 'p', env: {}, stdin: new Uint8Array(10) });
    expect(frameLength(bytes.subarray(0, 7), REQUEST_MAGIC, MAX_REQUEST_BODY_BYTES)).toBeUndefined();
    expect(frameLength(bytes.subarray(0, 8), REQUEST_MAGIC, MAX_REQUEST_BODY_BYTES)).toBe(bytes.length);
  });

  // Each malformed request and the message it gets (the offset counts from the frame's first byte).
  const corpus: { name: string; bytes: Uint8Array; msg: string }[] = [
    { name: 'wrong magic', bytes: Uint8Array.from([...text.encode('TWR1'), ...u32(0)]), msg: 'not a "TWQ1" frame (at byte 2)' },
    { name: 'an HTTP request', bytes: text.encode('GET / HTTP/1.1\r\n\r\n'), msg: 'not a "TWQ1" frame (at byte 0)' },
    { name: 'a short header', bytes: text.encode('TWQ1\0\0'), msg: 'a frame has 8 header bytes, got 6 (at byte 0)' },
    { name: 'a body over the cap', bytes: request([], MAX_REQUEST_BODY_BYTES + 1), msg: `a body of ${MAX_REQUEST_BODY_BYTES + 1} bytes is over the cap of ${MAX_REQUEST_BODY_BYTES} (at byte 4)` },
    { name: 'a length longer than the frame', bytes: request([...str('p')], 40), msg: 'the header says 48 bytes, the frame has 13 (at byte 4)' },
    { name: 'an empty body', bytes: request([]), msg: "the plugin name's length runs past the end of the frame (at byte 8)" },
    { name: 'a plugin name past the end', bytes: request([...u32(9), 0x61]), msg: 'the plugin name (9 bytes) runs past the end of the frame (at byte 8)' },
    { name: 'an empty plugin name', bytes: request([...str(''), ...u32(0), ...str('')]), msg: 'invalid plugin name "" (at byte 8)' },
    { name: 'a plugin name with a slash', bytes: request([...str('../x'), ...u32(0), ...str('')]), msg: 'invalid plugin name "../x" (at byte 8)' },
    { name: 'a plugin name not UTF-8', bytes: request([...u32(1), 0xff, ...u32(0), ...str('')]), msg: 'the plugin name is not UTF-8 (at byte 8)' },
    { name: 'no variable count', bytes: request([...str('p')]), msg: 'the variable count runs past the end of the frame (at byte 13)' },
    { name: 'too many variables', bytes: request([...str('p'), ...u32(5000)]), msg: '5000 variables, more than 1024 (at byte 13)' },
    { name: 'fewer variables than counted', bytes: request([...str('p'), ...u32(2), ...str('A=1')]), msg: "variable 1's length runs past the end of the frame (at byte 24)" },
    { name: 'a variable without =', bytes: request([...str('p'), ...u32(1), ...str('CNI_COMMAND'), ...str('')]), msg: 'variable 0 "CNI_COMMAND" is not NAME=value (at byte 17)' },
    { name: 'a variable without a name', bytes: request([...str('p'), ...u32(1), ...str('=ADD'), ...str('')]), msg: 'variable 0 "=ADD" is not NAME=value (at byte 17)' },
    { name: 'a variable given twice', bytes: request([...str('p'), ...u32(2), ...str('A=1'), ...str('A=2'), ...str('')]), msg: 'variable A is given twice (at byte 24)' },
    { name: 'no stdin', bytes: request([...str('p'), ...u32(0)]), msg: "stdin's length runs past the end of the frame (at byte 17)" },
    { name: 'stdin past the end', bytes: request([...str('p'), ...u32(0), ...u32(100), 1, 2]), msg: 'stdin (100 bytes) runs past the end of the frame (at byte 17)' },
    { name: 'bytes after stdin', bytes: request([...str('p'), ...u32(0), ...str('{}'), 0]), msg: '1 bytes after the last field (at byte 23)' },
  ];

  it.each(corpus)('$name: $msg', ({ bytes, msg }) => {
    let caught: unknown;
    try {
      decodeRequestFrame(bytes);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(FrameError);
    expect((caught as FrameError).code).toBe(6);
    expect((caught as FrameError).msg).toBe(`plugin server frame: ${msg}`);
  });
});

describe('response frames', () => {
  it('round-trips an answer', () => {
    const frame = { exitCode: 1, stdout: text.encode('{"code":11}\n'), stderr: text.encode('log\n') };
    expect(decodeResponseFrame(encodeResponseFrame(frame))).toEqual(frame);
  });

  it('refuses an exit code a process cannot have', () => {
    expect(() => encodeResponseFrame({ exitCode: 256, stdout: new Uint8Array(), stderr: new Uint8Array() })).toThrow('exit code 256 is not 0 to 255');
    const bytes = Uint8Array.from([...text.encode('TWR1'), ...u32(12), ...u32(300), ...u32(0), ...u32(0)]);
    expect(() => decodeResponseFrame(bytes)).toThrow('exit code 300 is over 255 (at byte 8)');
  });

  it('refuses a request frame where an answer should be', () => {
    expect(() => decodeResponseFrame(encodeRequestFrame({ plugin: 'p', env: {}, stdin: new Uint8Array() }))).toThrow('not a "TWR1" frame (at byte 2)');
  });
});
