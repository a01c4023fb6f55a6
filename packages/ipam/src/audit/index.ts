// Audits of the range allocator. Re-exported by name from the package root.
export {
  type RangeAuditOptions,
  type RangeProblem,
  type RangeCheckReport,
  type RangeAddressStatus,
  checkRanges,
  whyHeldInRanges,
} from './range-audit.js';
