// The errors of @twill/flows: one base class with a stable `code`, and a class per failure.
// A FlowFilterError names the filter field in the request (`whitelist[0].sourcePort[1]`),
// which is what the gRPC server answers with INVALID_ARGUMENT.

/** Stable codes of the package's errors. */
export const FLOWS_ERROR_CODE = {
  /** Bytes that are not a valid message of the schema, or a value the schema cannot carry. */
  CODEC: 'FLOWS_CODEC',
  /** A flow filter value that cannot be understood. */
  FILTER: 'FLOWS_FILTER',
  /** Bad options given to a constructor or a call (a ring's capacity, a lost count). */
  INVALID_ARGUMENT: 'FLOWS_INVALID_ARGUMENT',
  /** A gRPC call to the observer failed (see `grpcCode`). */
  OBSERVER_CALL: 'FLOWS_OBSERVER_CALL',
  /** The observer server could not start (socket in use, bind failed). */
  OBSERVER_SERVE: 'FLOWS_OBSERVER_SERVE',
} as const;

/** One of {@link FLOWS_ERROR_CODE}. */
export type FlowsErrorCode = (typeof FLOWS_ERROR_CODE)[keyof typeof FLOWS_ERROR_CODE];

/** The base class of every error this package throws: a stable `code` and an optional `cause`. */
export abstract class FlowsError extends Error {
  /** Which failure this is; stable across versions. */
  abstract readonly code: FlowsErrorCode;
}

/**
 * Bytes that do not decode to a message Twill's model can hold, or a model value the
 * schema cannot carry (a port above 65535). `path` names the field (`flow.l4.TCP.sourcePort`).
 */
export class FlowCodecError extends FlowsError {
  /** Always `'FlowCodecError'`, the class name, as stack traces and logs show it (test `code` or `instanceof`). */
  override readonly name = 'FlowCodecError';
  readonly code = FLOWS_ERROR_CODE.CODEC;
  /** The field at fault, as a path from the message (`flow.source.ID`); the message name when the bytes as a whole are bad. */
  readonly path: string;
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super(`${path}: ${reason}`, options);
    this.path = path;
  }
}

/** A bad value in a flow filter; `field` is its path in the request (`whitelist[0].sourceIp[1]`). */
export class FlowFilterError extends FlowsError {
  /** Always `'FlowFilterError'`, the class name, as stack traces and logs show it (test `code` or `instanceof`). */
  override readonly name = 'FlowFilterError';
  readonly code = FLOWS_ERROR_CODE.FILTER;
  /** The filter field at fault, e.g. `whitelist[0].sourcePort[1]`. */
  readonly field: string;
  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`);
    this.field = field;
  }
}

/** A bad argument to a constructor or method of this package (not a filter, not bytes). */
export class FlowsArgumentError extends FlowsError {
  /** Always `'FlowsArgumentError'`, the class name, as stack traces and logs show it (test `code` or `instanceof`). */
  override readonly name = 'FlowsArgumentError';
  readonly code = FLOWS_ERROR_CODE.INVALID_ARGUMENT;
}

/** A gRPC call to an observer failed; `grpcCode` is the gRPC status code and `details` the server's words. */
export class ObserverCallError extends FlowsError {
  /** Always `'ObserverCallError'`, the class name, as stack traces and logs show it (test `code` or `instanceof`). */
  override readonly name = 'ObserverCallError';
  readonly code = FLOWS_ERROR_CODE.OBSERVER_CALL;
  /** The gRPC status code (3 INVALID_ARGUMENT, 14 UNAVAILABLE, ...). */
  readonly grpcCode: number;
  /** The status details the server sent. */
  readonly details: string;
  constructor(grpcCode: number, grpcName: string, details: string, options?: { cause?: unknown }) {
    super(`observer call failed: ${grpcName}: ${details}`, options);
    this.grpcCode = grpcCode;
    this.details = details;
  }
}

/** The observer server could not start: the socket is in use by a live server, or binding failed. */
export class ObserverServeError extends FlowsError {
  /** Always `'ObserverServeError'`, the class name, as stack traces and logs show it (test `code` or `instanceof`). */
  override readonly name = 'ObserverServeError';
  readonly code = FLOWS_ERROR_CODE.OBSERVER_SERVE;
}
