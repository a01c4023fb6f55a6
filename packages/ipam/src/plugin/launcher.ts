// The text of a launcher script that runs twill-ipam from its TypeScript sources (no
// build): tests and the lab write it into a temporary CNI bin folder under the name
// `twill-ipam`, so that any runtime or chained plugin finds and execs it.

/** What a source launcher runs. */
export interface SourceLauncherOptions {
  /** The node executable, absolute (plugins may run with a reduced PATH). */
  readonly node: string;
  /** tsx's ESM loader, as a `file:` URL or an absolute path. */
  readonly tsx: string;
  /** The plugin's TypeScript entry point (`src/plugin/sys/cli.ts`), absolute. */
  readonly entry: string;
}

// Single quotes keep every byte literal in sh; a quote inside is closed, escaped, reopened.
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * A `#!/bin/sh` script that execs node on the plugin's sources with the workspace's
 * `@twill/source` condition and tsx, passing the environment, stdin and stdout through
 * (exec: the plugin is the process the runtime started, so its signals and exit code
 * are the plugin's own).
 */
export function sourceLauncherScript(options: SourceLauncherOptions): string {
  const words = [options.node, '--conditions=@twill/source', '--import', options.tsx, options.entry].map(shellQuote);
  return `#!/bin/sh\n# twill-ipam from its TypeScript sources (no build needed).\nexec ${words.join(' ')} "$@"\n`;
}
