// What goes wrong talking to a flow observer, as the CLI's one-line errors naming its
// target. The observer speaks gRPC: @twill/flows' ObserverCallError carries the status
// code (https://grpc.github.io/grpc/core/md_doc_statuscodes.html) and the details.

import { CliError, EXIT } from '../errors.js';

/** gRPC status codes the messages tell apart. */
const GRPC = { INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, PERMISSION_DENIED: 7, UNIMPLEMENTED: 12, UNAVAILABLE: 14 } as const;

/** The observer could not be read: not there, not ours to reach, or it refused (exit 1, or 2 for a request it calls invalid). */
export class ObserverError extends CliError {
  override readonly name: string = 'ObserverError';

  constructor(
    command: string,
    /** The gRPC target tried (`unix:///run/twill/observer.sock`). */
    readonly target: string,
    what: string,
    options: { cause: unknown; usage?: boolean },
  ) {
    super(command, '', what, options.usage === true ? EXIT.USAGE : EXIT.FAILED, { cause: options.cause });
  }
}

/** The text of a failure to read the observer at `target`. */
export function observerFailureText(target: string, error: unknown): { what: string; usage: boolean } {
  // @twill/flows' ObserverCallError carries `grpcCode`; a grpc-js error its numeric `code`.
  const fields = typeof error === 'object' && error !== null ? (error as { grpcCode?: unknown; code?: unknown; details?: unknown }) : {};
  const code = typeof fields.grpcCode === 'number' ? fields.grpcCode : typeof fields.code === 'number' ? fields.code : undefined;
  const details = typeof fields.details === 'string' ? fields.details : error instanceof Error ? error.message : String(error);
  const hint = '(is twill-agent running with flows enabled? --server or $TWILL_FLOWS_SERVER names another)';
  if (/EACCES|EPERM|permission denied/i.test(details) || code === GRPC.PERMISSION_DENIED) return { what: `permission denied on the observer at ${target}: its socket is for root and the twill group (run twill with sudo)`, usage: false };
  if (/ENOENT|ECONNREFUSED|ENOTSOCK|No connection established|connect/i.test(details) && code !== GRPC.INVALID_ARGUMENT) return { what: `no observer at ${target} ${hint}`, usage: false };
  if (code === GRPC.DEADLINE_EXCEEDED) return { what: `the observer at ${target} did not answer in time`, usage: false };
  if (code === GRPC.UNIMPLEMENTED) return { what: `${target} is not a flow observer (it does not serve observer.Observer/GetFlows)`, usage: false };
  if (code === GRPC.INVALID_ARGUMENT) return { what: `the observer at ${target} refused the request: ${details}`, usage: true };
  if (code === GRPC.UNAVAILABLE && details === 'observer shutting down') return { what: `the observer at ${target} is shutting down (twill-agent stopped or restarted); the stream ended`, usage: false };
  if (code === GRPC.UNAVAILABLE) return { what: `no observer at ${target} ${hint}: ${details}`, usage: false };
  return { what: `reading flows from ${target}: ${details}`, usage: false };
}

/** A failure to read the observer at `target`, as the CLI's error. */
export function observerFailure(command: string, target: string, error: unknown): CliError {
  if (error instanceof CliError) return error;
  const { what, usage } = observerFailureText(target, error);
  return new ObserverError(command, target, what, { cause: error, usage });
}
