/**
 * `@twill/flows`: flow records and the flow API.
 * @packageDocumentation
 */
export const FLOWS_PACKAGE = '@twill/flows';
