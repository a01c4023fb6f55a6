// A bounded read of the plugin's stdin. The network configuration is small (kilobytes);
// a runtime bug or a hostile caller must not make the plugin buffer without limit.
import { CNI_ERROR, CniError } from '../errors.js';

/** What runPlugin accepts as stdin: a stream (Node's `process.stdin` fits) or the bytes themselves. */
export type PluginInput = AsyncIterable<Uint8Array | string> | Uint8Array | string;

/** The default stdin cap: 1 MiB. */
export const DEFAULT_MAX_STDIN_BYTES = 1024 * 1024;

const utf8 = new TextEncoder();

function tooLarge(max: number): CniError {
  return new CniError(CNI_ERROR.IO_FAILURE, `stdin: network configuration is larger than ${max} bytes`);
}

/**
 * Reads all of `input`, at most `maxBytes` bytes. Throws a CniError with code 5 (I/O
 * failure) when the input is larger (reading stops there) or the stream fails.
 */
export async function readBoundedInput(input: PluginInput, maxBytes = DEFAULT_MAX_STDIN_BYTES): Promise<Uint8Array> {
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const bytes = typeof input === 'string' ? utf8.encode(input) : input;
    if (bytes.length > maxBytes) throw tooLarge(maxBytes);
    return bytes;
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of input) {
      const bytes = typeof chunk === 'string' ? utf8.encode(chunk) : chunk;
      total += bytes.length;
      // Leaving the loop early returns the iterator, which stops a Node stream.
      if (total > maxBytes) throw tooLarge(maxBytes);
      chunks.push(bytes);
    }
  } catch (error) {
    if (error instanceof CniError) throw error;
    throw new CniError(CNI_ERROR.IO_FAILURE, 'stdin: read failed', (error as Error | undefined)?.message ?? String(error), {
      cause: error,
    });
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
