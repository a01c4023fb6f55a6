/**
 * `@twill/sys/testing`: scratch network namespaces for privileged tests, with unique
 * names and guaranteed removal. For Twill's own root tests and for anyone testing a CNI
 * plugin against the real kernel.
 *
 * ```ts
 * const reason = rootSkipReason();
 * describe.skipIf(reason)(`veth plumbing${reason ? ` (skipped: ${reason})` : ''}`, () => {
 *   const scratch = new NetworkScratch();
 *   afterEach(() => scratch.cleanup());
 *   it('...', () => { const ns = scratch.netns(); ... });
 * });
 * ```
 * @packageDocumentation
 */
export { rootSkipReason, isRoot } from './root.js';
export { NetworkScratch, type ScratchNetns, TEST_PREFIX, testName, sweepStaleTestNamespaces } from './scratch.js';
