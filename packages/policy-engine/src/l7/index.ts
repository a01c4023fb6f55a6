// L7 (HTTP) rule matching for the agent's proxy: RE2 patterns compiled to a linear-time
// matcher, and the HTTP rule semantics of Cilium and Calico.
export {
  compileHttpMatcher,
  compileHttpPattern,
  l7RuleSetsOf,
  quoteHttpPattern,
  RE2_MAX_PROGRAM,
  type HttpDecision,
  type HttpMatcher,
  type HttpRequestFacts,
  type HttpRuleHit,
  type L7RuleSet,
} from './http-match.js';
export { type Re2Program } from './re2-program.js';
