// Every conformance fixture, by the file that holds it (the README's table names these
// files, and netpol-catalogue.test.ts checks the table against them).

import { EGRESS_CASES } from './cases-egress.js';
import { LIFECYCLE_CASES } from './cases-lifecycle.js';
import { PORT_CASES } from './cases-ports.js';
import { SELECTOR_CASES } from './cases-selectors.js';
import { UDP_SCTP_CASES } from './cases-udp-sctp.js';
import { type NetpolCase } from './fixture.js';

/** The fixtures of each file, keyed by file name. */
export const CASES_BY_FILE: Readonly<Record<string, readonly NetpolCase[]>> = {
  'cases-selectors.ts': SELECTOR_CASES,
  'cases-ports.ts': PORT_CASES,
  'cases-lifecycle.ts': LIFECYCLE_CASES,
  'cases-egress.ts': EGRESS_CASES,
  'cases-udp-sctp.ts': UDP_SCTP_CASES,
};

/** Every fixture, in file order. */
export const ALL_CASES: readonly NetpolCase[] = Object.values(CASES_BY_FILE).flat();
