// `twill-ipam serve [--socket PATH]`: serves until SIGTERM or SIGINT, then closes
// cleanly (answers the calls in progress, removes the socket).
import { DEFAULT_AGENT_SOCKET, serveIpam } from './serve.js';

const USAGE = 'usage: twill-ipam serve [--socket PATH]\n';

/**
 * Runs the serve command with its arguments (after `serve`): `--socket PATH` (default
 * `$TWILL_AGENT_SOCKET`, then `/run/twill/agent.sock`). Prints `serving on PATH` to
 * stderr once the socket is in place.
 * @returns the exit code: 0 after a clean stop, 2 for bad arguments, 1 when the server
 * cannot start.
 */
export async function runServeCommand(args: readonly string[]): Promise<number> {
  let socketPath = process.env['TWILL_AGENT_SOCKET'] || DEFAULT_AGENT_SOCKET;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--socket' && args[i + 1] !== undefined) socketPath = args[++i] ?? socketPath;
    else if (arg?.startsWith('--socket=') === true) socketPath = arg.slice('--socket='.length);
    else {
      process.stderr.write(`twill-ipam serve: unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
      return 2;
    }
  }
  let server;
  try {
    server = await serveIpam({
      socketPath,
      logger: { warn: (details, message) => process.stderr.write(`${message}: ${String(details['err'])}\n`) },
    });
  } catch (error) {
    process.stderr.write(`twill-ipam serve: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  process.stderr.write(`serving on ${socketPath}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await server.close();
  return 0;
}
