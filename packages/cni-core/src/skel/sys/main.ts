// The one place the plugin protocol meets the real process.
import { runPlugin } from '../run-plugin.js';
import { type PluginHandlers } from '../types.js';

/**
 * Runs a plugin in this process: `process.env`, `process.stdin`, `process.stdout` and
 * `process.stderr`, with the exit code set on `process.exitCode` (so pending output is
 * flushed before Node exits). Never throws.
 */
export async function runPluginMain(handlers: PluginHandlers): Promise<void> {
  process.exitCode = await runPlugin(
    { env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
    handlers,
  );
}
