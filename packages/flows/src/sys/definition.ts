// The gRPC method definitions of observer.Observer for @grpc/grpc-js, derived from the
// protobufjs schema (the service's full name, its methods and their message types), with
// the package's codec doing the (de)serialization.
import type { MethodDefinition } from '@grpc/grpc-js';

import {
  decodeGetFlowsRequest,
  decodeGetFlowsResponse,
  decodeServerStatus,
  decodeServerStatusRequest,
  encodeGetFlowsRequest,
  encodeGetFlowsResponse,
  encodeServerStatus,
  encodeServerStatusRequest,
} from '../codec/observer.js';
import { flowsSchema } from '../codec/schema.js';

interface Codec {
  readonly encode: (value: never) => Uint8Array;
  readonly decode: (bytes: Uint8Array) => unknown;
}

const CODECS: Readonly<Record<string, Codec>> = {
  GetFlowsRequest: { encode: encodeGetFlowsRequest, decode: decodeGetFlowsRequest },
  GetFlowsResponse: { encode: encodeGetFlowsResponse, decode: decodeGetFlowsResponse },
  ServerStatusRequest: { encode: encodeServerStatusRequest, decode: decodeServerStatusRequest },
  ServerStatusResponse: { encode: encodeServerStatus, decode: decodeServerStatus },
};

/** Bytes as a Buffer without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** One method of the service: its gRPC path, whether it streams responses, and its message codecs. */
export interface ObserverMethod {
  readonly name: string;
  readonly path: string;
  readonly responseStream: boolean;
  readonly request: Codec;
  readonly response: Codec;
}

/** The methods of observer.Observer as the schema declares them. */
export function observerMethods(): Readonly<Record<'GetFlows' | 'ServerStatus', ObserverMethod>> {
  const service = flowsSchema().Observer;
  const serviceName = service.fullName.replace(/^\./, '');
  const method = (name: 'GetFlows' | 'ServerStatus'): ObserverMethod => {
    const m = service.methods[name];
    const request = m === undefined ? undefined : CODECS[m.requestType];
    const response = m === undefined ? undefined : CODECS[m.responseType];
    if (m === undefined || request === undefined || response === undefined) throw new Error(`schema lacks ${serviceName}.${name}`);
    return { name, path: `/${serviceName}/${name}`, responseStream: m.responseStream === true, request, response };
  };
  return { GetFlows: method('GetFlows'), ServerStatus: method('ServerStatus') };
}

/**
 * The server's definitions: requests arrive as raw bytes (the handler decodes them, so a
 * bad request is answered INVALID_ARGUMENT with the codec's words), responses leave as the
 * bytes the handler encoded.
 */
export function serverDefinition(): Record<string, MethodDefinition<Buffer, Uint8Array>> {
  const out: Record<string, MethodDefinition<Buffer, Uint8Array>> = {};
  for (const m of Object.values(observerMethods())) {
    out[m.name] = {
      path: m.path,
      requestStream: false,
      responseStream: m.responseStream,
      requestSerialize: (b) => b,
      requestDeserialize: (b) => b,
      responseSerialize: asBuffer,
      responseDeserialize: (b) => b,
      originalName: m.name,
    };
  }
  return out;
}
