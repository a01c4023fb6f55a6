// Property: a random Calico selector evaluated by Calico's rules (src/calico/selector/
// evaluate) on Calico's flattened label map of a subject agrees with the compiled IR
// selector evaluated by the model's matcher on the subject itself. The flattening is
// what Calico does: the endpoint's labels, plus projectcalico.org/namespace,
// projectcalico.org/serviceaccount and projectcalico.org/orchestrator, plus the
// namespace's labels under `pcns.` and the service account's under `pcsa.`.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { compileCalicoSelector, evaluateSelector, parseSelector, printSelector, type SelectorNode } from '../../src/calico/index.js';
import { CalicoError, matchSelector, NAMESPACE_NAME_LABEL, type Labels, type SelectorSubject } from '@twill/policy-engine';

const KEYS = ['app', 'tier', 'env'];
const VALUES = ['a', 'b', 'ab', 'ba', ''];
const NAMESPACES = ['prod', 'dev'];
const ACCOUNTS = ['web-sa', 'db-sa'];

const value = fc.constantFrom(...VALUES);
const values = fc.uniqueArray(value, { maxLength: 3 }).map((v) => [...v].sort());

/** Label keys a selector may test: plain ones, and Calico's virtual ones. */
const key = (virtual: boolean): fc.Arbitrary<string> => (virtual
  ? fc.oneof(
    fc.constantFrom(...KEYS),
    fc.constantFrom('projectcalico.org/namespace', 'projectcalico.org/orchestrator', 'pcns.env', 'pcns.team', 'pcsa.role', 'pcns.projectcalico.org/name'),
  )
  : fc.constantFrom(...KEYS));

function selectorArbitrary(virtual: boolean): fc.Arbitrary<SelectorNode> {
  const leaf: fc.Arbitrary<SelectorNode> = fc.oneof(
    fc.constant<SelectorNode>({ kind: 'all' }),
    key(virtual).map((k): SelectorNode => ({ kind: 'has', key: k })),
    fc.record({ kind: fc.constantFrom('eq', 'ne', 'contains', 'startsWith', 'endsWith' as const), key: key(virtual), value }) as fc.Arbitrary<SelectorNode>,
    fc.record({ kind: fc.constantFrom('in', 'notIn' as const), key: key(virtual), values }) as fc.Arbitrary<SelectorNode>,
    // The service-account name: equality and sets only (string tests are refused, see below).
    fc.record({ kind: fc.constantFrom('eq', 'ne' as const), key: fc.constant('projectcalico.org/serviceaccount'), value: fc.constantFrom(...ACCOUNTS) }) as fc.Arbitrary<SelectorNode>,
  );
  const { node } = fc.letrec<{ node: SelectorNode }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      tie('node').map((operand): SelectorNode => ({ kind: 'not', operand })),
      fc.array(tie('node'), { minLength: 2, maxLength: 3 }).map((operands): SelectorNode => ({ kind: 'and', operands })),
      fc.array(tie('node'), { minLength: 2, maxLength: 3 }).map((operands): SelectorNode => ({ kind: 'or', operands })),
    ),
  }));
  return node;
}

const labels = fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 3 });

const subject = fc.record({
  type: fc.constantFrom('workload', 'host', 'network-set' as const),
  labels,
  namespace: fc.constantFrom(...NAMESPACES),
  namespaceLabels: fc.dictionary(fc.constantFrom('env', 'team'), value, { maxKeys: 2 }),
  account: fc.option(fc.record({ name: fc.constantFrom(...ACCOUNTS), labels: fc.dictionary(fc.constant('role'), value, { maxKeys: 1 }) }), { nil: undefined }),
});

type Generated = typeof subject extends fc.Arbitrary<infer T> ? T : never;

/** The subject as the IR sees it: hosts are never namespaced, only workloads run as a service account. */
function irSubject(s: Generated): SelectorSubject {
  const namespaced = s.type !== 'host';
  return {
    type: s.type,
    labels: s.labels,
    ...(namespaced ? { namespace: { name: s.namespace, labels: { ...s.namespaceLabels, [NAMESPACE_NAME_LABEL]: s.namespace } } } : {}),
    ...(s.type === 'workload' && s.account !== undefined ? { serviceAccount: s.account } : {}),
  };
}

/** The same subject as Calico flattens it into one label map. */
function calicoLabels(s: SelectorSubject): Labels {
  const flat: Record<string, string> = { ...s.labels };
  if (s.type === 'workload') flat['projectcalico.org/orchestrator'] = 'k8s';
  if (s.namespace !== undefined) {
    flat['projectcalico.org/namespace'] = s.namespace.name;
    for (const [k, v] of Object.entries(s.namespace.labels)) flat[`pcns.${k}`] = v;
    flat['pcns.projectcalico.org/name'] = s.namespace.name;
  }
  if (s.serviceAccount !== undefined) {
    flat['projectcalico.org/serviceaccount'] = s.serviceAccount.name;
    for (const [k, v] of Object.entries(s.serviceAccount.labels)) flat[`pcsa.${k}`] = v;
  }
  return flat;
}

/** Calico's rewrite of a namespaceSelector: keys get `pcns.`, all() becomes has(projectcalico.org/namespace). */
function prefixNamespace(node: SelectorNode): SelectorNode {
  switch (node.kind) {
    case 'all':
      return { kind: 'has', key: 'projectcalico.org/namespace' };
    case 'global':
      return { kind: 'not', operand: { kind: 'has', key: 'projectcalico.org/namespace' } };
    case 'not':
      return { kind: 'not', operand: prefixNamespace(node.operand) };
    case 'and':
    case 'or':
      return { kind: node.kind, operands: node.operands.map(prefixNamespace) };
    default:
      return { ...node, key: `pcns.${node.key}` };
  }
}

describe('compileCalicoSelector', () => {
  it('agrees with Calico on plain labels', () => {
    fc.assert(fc.property(selectorArbitrary(false), labels, (node, set) => {
      const ir = compileCalicoSelector(node);
      expect(matchSelector(ir, { type: 'workload', labels: set })).toBe(evaluateSelector(node, set));
    }), { numRuns: 2000 });
  });

  it('agrees with Calico on its namespace, service-account and orchestrator labels', () => {
    fc.assert(fc.property(selectorArbitrary(true), subject, (node, generated) => {
      const s = irSubject(generated);
      expect(matchSelector(compileCalicoSelector(node), s), printSelector(node)).toBe(evaluateSelector(node, calicoLabels(s)));
    }), { numRuns: 2000 });
  });

  it('reads a namespaceSelector against the namespace: all() is any namespaced subject, global() any other', () => {
    fc.assert(fc.property(selectorArbitrary(false), subject, (node, generated) => {
      const s = irSubject(generated);
      // Calico's rewrite: prefix every key with pcns., all() → has(projectcalico.org/namespace).
      const prefixed = prefixNamespace(node);
      expect(matchSelector(compileCalicoSelector(node, 'namespace'), s)).toBe(evaluateSelector(prefixed, calicoLabels(s)));
    }), { numRuns: 1000 });
    const global = compileCalicoSelector({ kind: 'global' }, 'namespace');
    expect(matchSelector(global, { type: 'host', labels: {} })).toBe(true);
    expect(matchSelector(global, { type: 'workload', labels: {}, namespace: { name: 'x', labels: {} } })).toBe(false);
  });

  it('maps the virtual labels to the IR’s scoping nodes', () => {
    expect(compileCalicoSelector(parseSelector('projectcalico.org/namespace == "prod" && app == "web"')))
      .toEqual({ kind: 'and', of: [{ kind: 'in-namespace', namespace: 'prod' }, { kind: 'in', key: 'app', values: ['web'] }] });
    expect(compileCalicoSelector(parseSelector('pcsa.role == "x"'))).toEqual({ kind: 'service-account', selector: { kind: 'in', key: 'role', values: ['x'] } });
    expect(compileCalicoSelector(parseSelector('projectcalico.org/serviceaccount in {"a", "b"}'))).toEqual({ kind: 'service-account', names: ['a', 'b'] });
    expect(compileCalicoSelector(parseSelector('app != "web"'))).toEqual({ kind: 'not', of: { kind: 'in', key: 'app', values: ['web'] } });
  });

  it('refuses string tests on the service-account name, which the IR cannot express', () => {
    expect(() => compileCalicoSelector(parseSelector('projectcalico.org/serviceaccount starts with "web"')))
      .toThrow(CalicoError);
  });
});
