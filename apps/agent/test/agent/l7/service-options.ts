// Shared by the L7 service's root tests: the options of startL7Service for a service in a
// scratch namespace, with the redirect's default marks and table, an upstream mark of its
// own, a policy allowing everything and a logger saying nothing.
import { L7_REDIRECT_DEFAULTS } from '../../../src/agent/l7/redirect.js';
import { type L7ServiceOptions } from '../../../src/agent/l7/sys/service.js';

/** The service's configuration: proxy port 15001, the redirect's defaults, upstream mark 0xa00. */
const SERVICE_CONFIG: L7ServiceOptions['config'] = {
  proxyPort: 15001,
  mark: L7_REDIRECT_DEFAULTS.mark,
  upstreamMark: 0xa00,
  mask: L7_REDIRECT_DEFAULTS.mask,
  routeTable: L7_REDIRECT_DEFAULTS.routeTable,
  rulePriority: L7_REDIRECT_DEFAULTS.rulePriority,
};

/** startL7Service's options for a service in the named namespace `netns`: every connection allowed, nothing logged. */
export function serviceOptions(netns: string): L7ServiceOptions {
  return {
    config: SERVICE_CONFIG,
    policy: { decide: () => ({ allowed: true, http: 'any' }) },
    logger: { debug: () => undefined, warn: () => undefined },
    netns,
  };
}
