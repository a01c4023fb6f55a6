// The protobufjs schema of proto/flow.proto and proto/observer.proto, parsed from the
// texts embedded in src/internal/proto-text.ts. Embedding (rather than reading the files)
// keeps the codec pure: it works the same from src/ and from dist/, in any process, with
// no file system access; a test keeps the embedded copy equal to the files.
import protobuf from 'protobufjs';

import { FLOW_PROTO, OBSERVER_PROTO } from '../internal/proto-text.js';

/** The message types and the service of the schema. */
export interface FlowsSchema {
  readonly root: protobuf.Root;
  readonly Flow: protobuf.Type;
  readonly LostEvent: protobuf.Type;
  readonly FlowFilter: protobuf.Type;
  readonly GetFlowsRequest: protobuf.Type;
  readonly GetFlowsResponse: protobuf.Type;
  readonly ServerStatusRequest: protobuf.Type;
  readonly ServerStatusResponse: protobuf.Type;
  readonly Observer: protobuf.Service;
}

let schema: FlowsSchema | undefined;

/** The parsed schema, built once on first use. */
export function flowsSchema(): FlowsSchema {
  if (schema !== undefined) return schema;
  const root = new protobuf.Root();
  // google/protobuf/timestamp.proto and wrappers.proto ship with protobufjs as JSON.
  for (const file of ['google/protobuf/timestamp.proto', 'google/protobuf/wrappers.proto']) {
    const json = protobuf.common.get(file);
    if (json?.nested === undefined) throw new Error(`protobufjs lacks ${file}`);
    root.addJSON(json.nested);
  }
  protobuf.parse(FLOW_PROTO, root);
  protobuf.parse(OBSERVER_PROTO, root);
  root.resolveAll();
  schema = {
    root,
    Flow: root.lookupType('flow.Flow'),
    LostEvent: root.lookupType('flow.LostEvent'),
    FlowFilter: root.lookupType('flow.FlowFilter'),
    GetFlowsRequest: root.lookupType('observer.GetFlowsRequest'),
    GetFlowsResponse: root.lookupType('observer.GetFlowsResponse'),
    ServerStatusRequest: root.lookupType('observer.ServerStatusRequest'),
    ServerStatusResponse: root.lookupType('observer.ServerStatusResponse'),
    Observer: root.lookupService('observer.Observer'),
  };
  return schema;
}
