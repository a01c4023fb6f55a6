// The policy dataplanes. Re-exported by name from the package root.
export {
  type ApplyReport,
  DATAPLANE_DRIVERS,
  type Dataplane,
  type DataplaneChange,
  type DataplaneDriverName,
  type DataplaneFlowEvent,
  type DataplaneFlowHandler,
  type DataplaneFlowReader,
  type DataplaneRuleRef,
  type DataplaneStatus,
  type EndpointAttachment,
} from './port.js';
export { createDataplane, type DataplaneOptions, isDataplaneDriver, UnknownDataplaneError } from './create.js';
export { createNftablesDataplane, type NftablesDataplaneOptions, NftablesDataplaneError } from './nftables/index.js';
export { createEbpfDataplane, DEFAULT_PIN_ROOT, type EbpfDataplaneOptions, EbpfDataplaneError } from './ebpf/index.js';
