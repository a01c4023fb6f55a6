// Object validation the API server does on every write: names (apimachinery
// validation.IsDNS1123Subdomain / IsDNS1123Label / IsDNS1035Label), labels and annotations,
// and the few kind-specific rules used here (Secret data is base64).

import { type KubeObject, type NameRule } from './resources.js';
import { labelValueProblem } from './selectors.js';
import { badRequest, type FieldError, invalidValue, requiredValue } from './status.js';

const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const qualifiedNamePart = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Why `name` is not valid under `rule` (the API server's messages), or undefined. */
export function nameProblems(rule: NameRule, name: string): string[] {
  switch (rule) {
    case 'subdomain': {
      const problems: string[] = [];
      if (name.length > 253) problems.push('must be no more than 253 characters');
      if (!subdomain.test(name)) problems.push("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
      return problems;
    }
    case 'label': {
      const problems: string[] = [];
      if (name.length > 63) problems.push('must be no more than 63 characters');
      if (!label.test(name)) problems.push("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
      return problems;
    }
    case 'dns1035': {
      const problems: string[] = [];
      if (name.length > 63) problems.push('must be no more than 63 characters');
      if (!dns1035.test(name)) problems.push("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')");
      return problems;
    }
  }
}

function qualifiedNameProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
  const name = parts[parts.length - 1]!;
  if (parts.length === 2 && !subdomain.test(parts[0]!)) return "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  if (name === '') return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!qualifiedNamePart.test(name)) return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
  return undefined;
}

/** ObjectMeta validation (name, labels, annotations keys); field errors, empty when valid. */
export function validateObjectMeta(rule: NameRule, object: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  const name = object.metadata.name ?? '';
  for (const problem of nameProblems(rule, name)) errors.push(invalidValue('metadata.name', name, problem));
  const labels = object.metadata.labels;
  if (labels !== undefined && (labels === null || typeof labels !== 'object' || Array.isArray(labels))) {
    errors.push(invalidValue('metadata.labels', labels, 'must be a map of strings'));
  } else {
    for (const [k, v] of Object.entries(labels ?? {})) {
      const keyProblem = qualifiedNameProblem(k);
      if (keyProblem !== undefined) errors.push(invalidValue('metadata.labels', k, keyProblem));
      const valueProblem = typeof v === 'string' ? labelValueProblem(v) : 'must be a string';
      if (valueProblem !== undefined) errors.push(invalidValue(`metadata.labels`, v, valueProblem));
    }
  }
  for (const k of Object.keys(object.metadata.annotations ?? {})) {
    const keyProblem = qualifiedNameProblem(k.toLowerCase());
    if (keyProblem !== undefined) errors.push(invalidValue('metadata.annotations', k, keyProblem));
  }
  return errors;
}

/**
 * A Secret as the API server stores it: `stringData` merged into `data` (base64) and
 * dropped; a `data` value that is not base64 fails decoding (400, as the real server).
 */
export function normalizeSecret(object: KubeObject): void {
  const data = (object.data ?? {}) as Record<string, unknown>;
  if (object.data !== undefined && (object.data === null || typeof object.data !== 'object')) {
    throw badRequest(`Secret in version "v1" cannot be handled as a Secret: json: cannot unmarshal ${typeof object.data} into Go struct field Secret.data of type map[string][]uint8`);
  }
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
      const at = typeof value === 'string' ? firstBadBase64Byte(value) : 0;
      throw badRequest(`Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte ${at} (key ${JSON.stringify(key)})`);
    }
  }
  const stringData = object.stringData as Record<string, unknown> | undefined;
  if (stringData !== undefined) {
    for (const [key, value] of Object.entries(stringData)) data[key] = Buffer.from(String(value), 'utf8').toString('base64');
    delete object.stringData;
  }
  if (Object.keys(data).length > 0) object.data = data;
  if (object.type === undefined) object.type = 'Opaque';
}

function firstBadBase64Byte(value: string): number {
  for (let i = 0; i < value.length; i++) {
    if (!/[A-Za-z0-9+/=]/.test(value[i]!)) return i;
  }
  return value.length - (value.length % 4);
}

/** The Pod rules clients trip over first (core validation.ValidatePodSpec): containers with a name and an image. */
export function validatePodSpec(object: KubeObject): FieldError[] {
  const spec = object.spec as { containers?: { name?: string; image?: string }[] } | undefined;
  const containers = spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) return [requiredValue('spec.containers')];
  const errors: FieldError[] = [];
  containers.forEach((c, i) => {
    if (typeof c?.name !== 'string' || c.name === '') errors.push(requiredValue(`spec.containers[${i}].name`));
    if (typeof c?.image !== 'string' || c.image === '') errors.push(requiredValue(`spec.containers[${i}].image`));
  });
  return errors;
}

/** Pod spec with the fields an update may change blanked (core validation.ValidatePodUpdate). */
function podSpecFixedPart(spec: unknown): string {
  const copy = structuredClone((spec ?? {}) as Record<string, unknown>);
  for (const list of ['containers', 'initContainers']) {
    const containers = copy[list];
    if (Array.isArray(containers)) for (const c of containers) if (c !== null && typeof c === 'object') delete (c as Record<string, unknown>).image;
  }
  delete copy.activeDeadlineSeconds;
  delete copy.tolerations;
  delete copy.terminationGracePeriodSeconds;
  return JSON.stringify(canonical(copy));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  return value;
}

/** A Pod update that changes its spec beyond what the API server lets change: 422 Forbidden. */
export function validatePodUpdate(next: KubeObject, existing: KubeObject): FieldError[] {
  if (podSpecFixedPart(next.spec) === podSpecFixedPart(existing.spec)) return [];
  return [{
    reason: 'FieldValueForbidden',
    field: 'spec',
    message: 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
  }];
}
