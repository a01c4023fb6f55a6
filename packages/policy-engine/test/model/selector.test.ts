import { describe, expect, it } from 'vitest';

import { allOf, anyOf, formatSelector, labelEquals, matchSelector, not, SELECT_ALL, type SelectorSubject } from '@twill/policy-engine';

const pod: SelectorSubject = {
  type: 'workload',
  labels: { app: 'web', tier: 'frontend', constructor: 'x' },
  namespace: { name: 'prod', labels: { env: 'prod' } },
  serviceAccount: { name: 'web-sa', labels: { team: 'a' } },
};

describe('matchSelector', () => {
  it('treats absent keys as Kubernetes and Calico do', () => {
    expect(matchSelector(labelEquals('missing', 'x'), pod)).toBe(false);
    expect(matchSelector(not(labelEquals('missing', 'x')), pod)).toBe(true);
    expect(matchSelector(not({ kind: 'in', key: 'missing', values: ['a'] }), pod)).toBe(true);
  });

  it('reads own labels only, never Object.prototype', () => {
    expect(matchSelector({ kind: 'exists', key: 'toString' }, pod)).toBe(false);
    expect(matchSelector({ kind: 'exists', key: 'constructor' }, pod)).toBe(true);
  });

  it('supports the Calico string operators', () => {
    expect(matchSelector({ kind: 'string', key: 'tier', operator: 'starts-with', value: 'front' }, pod)).toBe(true);
    expect(matchSelector({ kind: 'string', key: 'tier', operator: 'ends-with', value: 'end' }, pod)).toBe(true);
    expect(matchSelector({ kind: 'string', key: 'tier', operator: 'contains', value: 'ont' }, pod)).toBe(true);
    expect(matchSelector({ kind: 'string', key: 'nope', operator: 'contains', value: '' }, pod)).toBe(false);
  });

  it('scopes by namespace, namespace labels, service account and type', () => {
    expect(matchSelector({ kind: 'in-namespace', namespace: 'prod' }, pod)).toBe(true);
    expect(matchSelector({ kind: 'namespace', selector: labelEquals('env', 'prod') }, pod)).toBe(true);
    expect(matchSelector({ kind: 'namespace', selector: labelEquals('app', 'web') }, pod)).toBe(false);
    expect(matchSelector({ kind: 'global' }, pod)).toBe(false);
    expect(matchSelector({ kind: 'global' }, { type: 'host', labels: {} })).toBe(true);
    expect(matchSelector({ kind: 'service-account', names: ['web-sa'], selector: labelEquals('team', 'a') }, pod)).toBe(true);
    expect(matchSelector({ kind: 'service-account', names: ['other'] }, pod)).toBe(false);
    expect(matchSelector({ kind: 'subject-type', types: ['host'] }, pod)).toBe(false);
  });

  it('simplifies and/or/not', () => {
    expect(allOf(SELECT_ALL, SELECT_ALL)).toEqual(SELECT_ALL);
    expect(anyOf()).toEqual({ kind: 'none' });
    expect(not(not(labelEquals('a', 'b')))).toEqual(labelEquals('a', 'b'));
    expect(allOf(labelEquals('a', 'b'), allOf(labelEquals('c', 'd'), { kind: 'none' }))).toEqual({ kind: 'none' });
  });

  it('prints close to the Calico selector language', () => {
    const selector = allOf(labelEquals('app', 'web'), anyOf({ kind: 'exists', key: 'a' }, not({ kind: 'exists', key: 'b' })), not(labelEquals('c', 'd')));
    expect(formatSelector(selector)).toBe('app == "web" && (has(a) || !has(b)) && c != "d"');
  });
});
