import { twillVitestConfig } from '../../vitest.shared.js';

// Two test files at a time: most of the agent's tests wait on the kernel, child processes
// and timers rather than the CPU (one at a time, they were half of `npm test`'s time on two
// cores). Every root test makes its own namespaces, links, tables and pins.
// Vitest loads its configuration through a default export.
// eslint-disable-next-line no-restricted-syntax
export default twillVitestConfig(import.meta.dirname, { maxWorkers: 2 });
