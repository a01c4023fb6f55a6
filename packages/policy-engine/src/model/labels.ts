// Labels as every dialect sees them: a flat string → string map.

/** A label set: keys to values, as on Kubernetes objects. */
export type Labels = Readonly<Record<string, string>>;

/** The label Kubernetes puts on every namespace (since 1.21): its own name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/**
 * The canonical text of a label set: `k=v` pairs sorted by key, joined by `,`. Two label
 * sets are the same set exactly when their canonical texts are equal, whatever the
 * order their keys were written in.
 */
export function canonicalLabels(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key] ?? ''}`)
    .join(',');
}

/** Whether `labels` has `key`, own property only (a label called `constructor` must not match Object.prototype). */
export function hasLabel(labels: Labels, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(labels, key);
}

/** The value of `key`, or `undefined` when the label is absent. */
export function labelValue(labels: Labels, key: string): string | undefined {
  return hasLabel(labels, key) ? labels[key] : undefined;
}
