import { twillVitestConfig } from '../../vitest.shared.js';

// Vitest loads its configuration through a default export.
// eslint-disable-next-line no-restricted-syntax
export default twillVitestConfig(import.meta.dirname);
