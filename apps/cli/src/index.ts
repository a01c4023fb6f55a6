/**
 * @twill/cli: twill, the command line for Twill clusters and labs.
 *
 * Nothing is exported yet; the package's issue builds its API.
 * @packageDocumentation
 */
export {};
