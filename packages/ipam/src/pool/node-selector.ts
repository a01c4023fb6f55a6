// A pool's `nodeSelector`: which nodes may take blocks from it. A deliberately small
// subset of Calico's selector language (projectcalico.org/v3 IPPool.spec.nodeSelector),
// written here because @twill/ipam may import only @twill/cni-core (the full language
// lives in @twill/policy-engine). Grammar:
//
//   selector := '' | 'all()' | term ('&&' term)*
//   term     := 'has(' key ')' | '!has(' key ')' | key '==' value | key '!=' value
//   value    := '…' | "…"        (no escapes)
//   key      := [A-Za-z0-9_./-]+   (Kubernetes label keys, prefix included)
//
// Anything else is a configuration error, so a selector Calico would read differently
// is refused rather than guessed at. Parsing is pure; matching is a function of labels.

/** Node labels, as in the Kubernetes Node object's `metadata.labels`. */
export type NodeLabels = Readonly<Record<string, string>>;

/** One conjunct of a {@link NodeSelector}. */
export type SelectorTerm =
  | { readonly op: 'has'; readonly key: string }
  | { readonly op: '!has'; readonly key: string }
  | { readonly op: '=='; readonly key: string; readonly value: string }
  | { readonly op: '!='; readonly key: string; readonly value: string };

/** A parsed selector: every term must hold (no terms: every node). */
export interface NodeSelector {
  /** The selector as written (`all()` when it was empty). */
  readonly text: string;
  /** The terms, all of which must hold. */
  readonly terms: readonly SelectorTerm[];
}

/** The selector that selects every node. */
export const ALL_NODES: NodeSelector = { text: 'all()', terms: [] };

const KEY = '[A-Za-z0-9_./-]+';
const HAS = new RegExp(`^(!?)\\s*has\\(\\s*(${KEY})\\s*\\)$`);
const COMPARE = new RegExp(`^(${KEY})\\s*(==|!=)\\s*(?:'([^']*)'|"([^"]*)")$`);

/**
 * Parses a node selector. Returns the problem as a string (for the caller to name the
 * field) instead of throwing, so the config parser owns the error's path.
 */
export function parseNodeSelector(text: string): NodeSelector | string {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'all()') return ALL_NODES;
  const terms: SelectorTerm[] = [];
  // `&&` cannot occur inside a value of this subset's grammar without being misread, so
  // values containing it are refused below rather than split wrongly.
  for (const raw of trimmed.split('&&')) {
    const part = raw.trim();
    const has = HAS.exec(part);
    if (has !== null) {
      terms.push({ op: has[1] === '!' ? '!has' : 'has', key: has[2] ?? '' });
      continue;
    }
    const compare = COMPARE.exec(part);
    if (compare !== null) {
      const key = compare[1] ?? '';
      const value = compare[3] ?? compare[4] ?? '';
      terms.push(compare[2] === '==' ? { op: '==', key, value } : { op: '!=', key, value });
      continue;
    }
    return `unsupported selector term ${JSON.stringify(part)} (supported: all(), has(k), !has(k), k == 'v', k != 'v', joined by &&)`;
  }
  return { text: trimmed, terms };
}

/** Whether a node with `labels` is selected. `!=` holds for a node without the label, as in Calico. */
export function selectsNode(selector: NodeSelector, labels: NodeLabels): boolean {
  return selector.terms.every((term) => {
    const value = Object.hasOwn(labels, term.key) ? labels[term.key] : undefined;
    switch (term.op) {
      case 'has':
        return value !== undefined;
      case '!has':
        return value === undefined;
      case '==':
        return value === term.value;
      case '!=':
        return value !== term.value;
    }
  });
}
