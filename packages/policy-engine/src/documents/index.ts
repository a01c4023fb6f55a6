// Resource documents of any dialect to the model: the dispatch on apiVersion and kind,
// and the core/v1 Namespace and Pod objects policies select.
export { compileResourceDocument, RESOURCE_DOCUMENT_KINDS, type CompiledResourceDocument } from './compile.js';
export { endpointFromPod, namespaceFromResource, type EndpointFromPodOptions } from './objects.js';
export {
  endpointFromRecord,
  endpointKeyOfRecord,
  endpointsFromRecords,
  isNewerRecord,
  type EndpointKey,
  type EndpointRecordInput,
  type RecordEndpoint,
} from './endpoints.js';
