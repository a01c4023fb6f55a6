// One forwarded request, answered: the plugin the frame names runs through runPlugin
// with the frame's environment and stdin, and its output becomes the response frame.
// Pure: the socket around it is sys/server.ts.
import { CNI_ERROR, CniError } from '../errors.js';
import { FAILURE_EXIT_CODE, runPlugin } from '../skel/run-plugin.js';
import { type PluginHandlers, type TextSink } from '../skel/types.js';
import { type PluginRequestFrame, type PluginResponseFrame } from './frame.js';

/** The plugins a server answers for, by the name the runtime execs (`twill-ipam`). */
export type PluginTable = Readonly<Record<string, PluginHandlers>>;

const utf8 = new TextEncoder();

class Collected implements TextSink {
  readonly #chunks: string[] = [];

  write(chunk: string): boolean {
    this.#chunks.push(chunk);
    return true;
  }

  bytes(): Uint8Array {
    return utf8.encode(this.#chunks.join(''));
  }
}

/**
 * The response frame of a failure the server reports itself (a bad frame, an unknown
 * plugin): the error JSON on stdout as a plugin would print it, its message on stderr,
 * exit code 1.
 */
export function errorResponse(error: CniError): PluginResponseFrame {
  return {
    exitCode: FAILURE_EXIT_CODE,
    stdout: utf8.encode(`${JSON.stringify(error.toJSON(), null, 4)}\n`),
    stderr: utf8.encode(`plugin server: ${error.message}\n`),
  };
}

/**
 * Runs the request's plugin with {@link runPlugin} (its environment and stdin are the
 * frame's) and returns what the forwarder must print and exit with. Never throws: a
 * plugin the table lacks is answered with CNI code 5 naming the plugins served.
 */
export async function answerRequest(request: PluginRequestFrame, plugins: PluginTable): Promise<PluginResponseFrame> {
  const handlers = Object.hasOwn(plugins, request.plugin) ? plugins[request.plugin] : undefined;
  if (handlers === undefined) {
    return errorResponse(
      new CniError(
        CNI_ERROR.IO_FAILURE,
        `this plugin server does not serve ${JSON.stringify(request.plugin)}`,
        `it serves ${Object.keys(plugins).map((name) => JSON.stringify(name)).join(', ') || 'nothing'}`,
      ),
    );
  }
  const stdout = new Collected();
  const stderr = new Collected();
  const exitCode = await runPlugin({ env: request.env, stdin: request.stdin, stdout, stderr }, handlers);
  return { exitCode, stdout: stdout.bytes(), stderr: stderr.bytes() };
}
