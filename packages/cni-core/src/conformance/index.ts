// The CNI conformance suite: checks any plugin executable (or a network configuration
// list of them) against the spec. The lead re-exports these from src/index.ts.
export {
  type ConformanceOptions,
  type ConformanceReport,
  type ConformanceCheck,
  type ConformanceSummary,
  type NamespacePort,
  type ThrowawayNetns,
  type CheckStatus,
  CHECK_STATUS,
} from './types.js';
export { runConformance, CONFORMANCE_BASE_ENV } from './run-conformance.js';
export { formatConformanceMarkdown, summarizeConformance, type MarkdownReportOptions } from './format.js';
export { memoryResultCache } from './memory-cache.js';
export { linuxNamespaces, type LinuxNamespacesOptions } from './sys/linux-netns.js';
export { nsenterPluginExec, nsenterCommand, type NsenterPluginExecOptions } from './sys/nsenter-exec.js';
