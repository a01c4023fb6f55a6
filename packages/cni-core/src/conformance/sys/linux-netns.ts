// Throwaway pod namespaces on Linux: named network namespaces made and removed as
// `ip netns add/del` does, through @twill/sys. The addon is loaded on first use, so
// importing the package root does not load native code.
import { type NamespacePort, type ThrowawayNetns } from '../types.js';

/** Options of {@link linuxNamespaces}. */
export interface LinuxNamespacesOptions {
  /**
   * Gives each namespace's name (unique on the host). Default: `cnct-<pid>-<n>` in base 36.
   * Tests pass `testName` from `@twill/sys/testing`, so leftovers of a crash are swept.
   */
  readonly name?: () => string;
  /** The folder of named namespaces (default `/run/netns`). */
  readonly dir?: string;
}

let counter = 0;

/**
 * The {@link NamespacePort} over real named network namespaces. Needs Linux and
 * CAP_SYS_ADMIN.
 *
 * @throws {SysError} from create (`EPERM` without privilege, `EEXIST` for a taken name).
 */
export function linuxNamespaces(options: LinuxNamespacesOptions = {}): NamespacePort {
  // Path to name, kept after removal so that removing twice stays harmless.
  const names = new Map<string, string>();
  const name =
    options.name ??
    ((): string => {
      counter += 1;
      return `cnct-${process.pid.toString(36)}-${counter.toString(36)}`;
    });
  const dirOptions = options.dir !== undefined ? { dir: options.dir } : {};
  return {
    async create(): Promise<ThrowawayNetns> {
      const sys = await import('@twill/sys');
      const chosen = name();
      const path = sys.createNetns(chosen, dirOptions);
      names.set(path, chosen);
      return { path };
    },
    async remove(netns) {
      const chosen = names.get(netns.path);
      if (chosen === undefined) throw new Error(`${netns.path} was not made by this port`);
      const sys = await import('@twill/sys');
      try {
        sys.deleteNetns(chosen, dirOptions);
      } catch (error) {
        if (!(error instanceof sys.SysError && error.code === 'ENOENT')) throw error;
      }
    },
  };
}
