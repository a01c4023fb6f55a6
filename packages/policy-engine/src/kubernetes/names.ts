// The name syntaxes of k8s.io/apimachinery/pkg/util/validation, as predicates that
// return the reason a value is refused (or undefined when it is fine).

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Why `value` is not an RFC 1123 label (namespace names), or `undefined`. */
export function dns1123LabelProblem(value: string): string | undefined {
  if (value.length > 63) return 'must be no more than 63 characters';
  if (!DNS1123_LABEL.test(value)) return "must be lowercase alphanumerics or '-', starting and ending with an alphanumeric (RFC 1123 label)";
  return undefined;
}

/** Why `value` is not an RFC 1123 subdomain (object names), or `undefined`. */
export function dns1123SubdomainProblem(value: string): string | undefined {
  if (value.length > 253) return 'must be no more than 253 characters';
  if (!DNS1123_SUBDOMAIN.test(value)) {
    return "must be lowercase alphanumerics, '-' or '.', starting and ending with an alphanumeric (RFC 1123 subdomain)";
  }
  return undefined;
}

/** Why `key` is not a label key (`[prefix/]name`), or `undefined`. */
export function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return "a label key has at most one '/'";
  const name = parts[parts.length - 1] ?? '';
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    if (prefix === '') return 'the prefix before / must not be empty';
    const problem = dns1123SubdomainProblem(prefix);
    if (problem !== undefined) return `the prefix ${problem}`;
  }
  if (name === '') return 'the name part must not be empty';
  if (name.length > 63) return 'the name part must be no more than 63 characters';
  if (!QUALIFIED_NAME_PART.test(name)) {
    return "the name part must be alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric";
  }
  return undefined;
}

/** Why `value` is not a label value, or `undefined`. Empty is a valid value. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63) return 'must be no more than 63 characters';
  if (!QUALIFIED_NAME_PART.test(value)) {
    return "must be alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric";
  }
  return undefined;
}

/** Why `name` is not a port name (IANA_SVC_NAME, RFC 6335 §5.1), or `undefined`. */
export function portNameProblem(name: string): string | undefined {
  if (name.length > 15) return 'must be no more than 15 characters';
  if (!PORT_NAME.test(name)) return "must be lowercase alphanumerics or '-', starting and ending with an alphanumeric";
  if (name.includes('--')) return "must not contain '--'";
  if (!/[a-z]/.test(name)) return 'must contain at least one letter';
  return undefined;
}
