// The CNI commands and the environment each one needs (SPEC.md v1.1.0 §"Section 2:
// Execution Protocol", "Parameters" and the "Input" list of every operation).

/** The values of `CNI_COMMAND`. GC and STATUS exist from spec 1.1.0, CHECK from 0.4.0. */
export const CNI_COMMANDS = Object.freeze({
  /** Add the container to the network (all versions). */
  ADD: 'ADD',
  /** Remove it (all versions). */
  DEL: 'DEL',
  /** Check that it is as added (0.4.0 and later). */
  CHECK: 'CHECK',
  /** Remove what no valid attachment uses (1.1.0). */
  GC: 'GC',
  /** Report the versions the plugin supports (all versions). */
  VERSION: 'VERSION',
  /** Report whether the plugin is ready for ADDs (1.1.0). */
  STATUS: 'STATUS',
} as const);

/** One of {@link CNI_COMMANDS}. */
export type CniCommand = (typeof CNI_COMMANDS)[keyof typeof CNI_COMMANDS];

/** The protocol's environment variables. */
export const CNI_ENV_VARS = Object.freeze([
  'CNI_COMMAND',
  'CNI_CONTAINERID',
  'CNI_NETNS',
  'CNI_IFNAME',
  'CNI_ARGS',
  'CNI_PATH',
] as const);

/** One of {@link CNI_ENV_VARS}. */
export type CniEnvVar = (typeof CNI_ENV_VARS)[number];

/**
 * The variables each command requires (SPEC.md v1.1.0): ADD and CHECK need the whole
 * attachment; DEL may come without CNI_NETNS (the namespace may be gone); GC needs
 * CNI_PATH to reach delegated plugins; VERSION and STATUS need only the command.
 * CNI_ARGS is optional everywhere, and so is CNI_PATH outside GC.
 */
export const REQUIRED_ENV: Readonly<Record<CniCommand, readonly CniEnvVar[]>> = Object.freeze({
  ADD: Object.freeze(['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'] as const),
  DEL: Object.freeze(['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_IFNAME'] as const),
  CHECK: Object.freeze(['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'] as const),
  GC: Object.freeze(['CNI_COMMAND', 'CNI_PATH'] as const),
  VERSION: Object.freeze(['CNI_COMMAND'] as const),
  STATUS: Object.freeze(['CNI_COMMAND'] as const),
});

/**
 * The oldest config `cniVersion` that may carry each command: CHECK arrived in 0.4.0,
 * GC and STATUS in 1.1.0 (libcni's skel refuses them below, with code 1).
 */
export const MINIMUM_VERSION: Readonly<Partial<Record<CniCommand, string>>> = Object.freeze({
  CHECK: '0.4.0',
  GC: '1.1.0',
  STATUS: '1.1.0',
});

/** Whether `text` is one of {@link CNI_COMMANDS}. */
export function isCniCommand(text: string): text is CniCommand {
  return Object.hasOwn(CNI_COMMANDS, text);
}
