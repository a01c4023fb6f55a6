// The one failure of rendering the manifests: an option that cannot go into them.

/** An option of renderManifests that is not valid: which option, and why. */
export class ManifestOptionsError extends Error {
  readonly code = 'invalid-manifest-options';
  /** The option: `namespace`, `image`. */
  readonly option: string;
  readonly reason: string;

  constructor(option: string, reason: string) {
    super(`${option}: ${reason}`);
    this.name = 'ManifestOptionsError';
    this.option = option;
    this.reason = reason;
  }
}
