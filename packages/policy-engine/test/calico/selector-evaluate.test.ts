import { describe, expect, it } from 'vitest';

import { evaluateSelector, parseSelector } from '../../src/calico/index.js';

const web = { app: 'web', tier: 'frontend', env: 'prod', 'k8s-app': 'kube-dns', 'projectcalico.org/namespace': 'prod-1' };
const db = { app: 'db', tier: 'backend', env: 'dev', version: 'v1.2.3', 'projectcalico.org/namespace': 'default' };
const none = {};
const quoted = { msg: `it's`, q: 'say "hi"', empty: '' };

// [selector, labels, expected]
const cases: readonly (readonly [string, Readonly<Record<string, string>>, boolean])[] = [
  // empty selector and all()
  ['', none, true],
  ['   ', web, true],
  ['\t', db, true],
  ['all()', none, true],
  ['all( )', web, true],
  ['global()', none, true],
  ['!all()', web, false],
  // ==
  ['app == "web"', web, true],
  ["app == 'web'", web, true],
  ['app == "web"', db, false],
  ['app == "web"', none, false],
  ['app=="web"', web, true],
  ['empty == ""', quoted, true],
  ['empty == ""', none, false],
  ['msg == "it\'s"', quoted, true],
  [`q == 'say "hi"'`, quoted, true],
  ['projectcalico.org/namespace == "prod-1"', web, true],
  ['k8s-app == "kube-dns"', web, true],
  // !=
  ['app != "web"', web, false],
  ['app != "web"', db, true],
  ['app != "web"', none, true],
  ['empty != ""', quoted, false],
  // in / not in
  ["app in { 'web', 'db' }", web, true],
  ["app in { 'web', 'db' }", db, true],
  ['app in {"web"}', none, false],
  ['app in {}', web, false],
  ['app in {"web",}', web, true],
  ["app not in { 'web' }", web, false],
  ["app not in { 'web' }", db, true],
  ["app not in { 'web' }", none, true],
  ['app not in {}', none, true],
  ['app notin {"db"}', web, true],
  ['app in{"web"}', web, true],
  // has / !has
  ['has(app)', web, true],
  ['has(app)', none, false],
  ['has( app )', db, true],
  ['!has(app)', none, true],
  ['!has(app)', web, false],
  ['has(projectcalico.org/namespace)', db, true],
  ['has(version)', web, false],
  // contains / starts with / ends with
  ['version contains ".2."', db, true],
  ['version contains "x"', db, false],
  ['version contains ""', db, true],
  ['version contains ""', web, false],
  ['env starts with "pr"', web, true],
  ['env starts with "pr"', db, false],
  ['env starts  with "d"', db, true],
  ['env starts with "pr"', none, false],
  ['version ends with ".3"', db, true],
  ['version ends with ".3"', web, false],
  ['tier ends with"end"', web, true],
  ['tier contains"end"', db, true],
  // !
  ['!app == "web"', web, false],
  ['!app == "web"', none, true],
  ['!!has(app)', web, true],
  ['! ! ! has(app)', web, false],
  ['!(app == "web" || app == "db")', none, true],
  ['!(app == "web" || app == "db")', db, false],
  // && and ||
  ['app == "web" && env == "prod"', web, true],
  ['app == "web" && env == "dev"', web, false],
  ['app == "web" || app == "db"', db, true],
  ['app == "x" || app == "y"', db, false],
  ['has(app) && has(tier) && has(env)', web, true],
  ['has(app) && has(tier) && has(version)', web, false],
  // precedence: ! > && > ||
  ['app == "db" || app == "web" && env == "dev"', web, false],
  ['app == "db" || app == "web" && env == "dev"', db, true],
  ['(app == "db" || app == "web") && env == "dev"', web, false],
  ['(app == "db" || app == "web") && env == "prod"', web, true],
  ['app == "web" && env == "dev" || tier == "frontend"', web, true],
  ['app == "web" && (env == "dev" || tier == "frontend")', web, true],
  ['!has(version) && app == "web"', web, true],
  ['!has(version) || app == "web"', db, false],
  ['!(has(version) && app == "web")', db, true],
  ['((app == "web"))', web, true],
  ['( has(app) && ( env == "prod" || env == "dev" ) ) && !has(q)', db, true],
  // tabs and spacing
  ['app\t==\t"web"\t&&\thas(env)', web, true],
  ['  app == "web"  ', web, true],
  // keys that look like keywords
  ['in == "x"', { in: 'x' }, true],
  ['has == "y"', { has: 'y' }, true],
  ['all != "z"', none, true],
  ['not in {"a"}', { not: 'a' }, true], // the label "not", operator in
];

describe('Calico selector evaluation', () => {
  it('has at least 60 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
  });

  it.each(cases)('%j on %j is %s', (selector, labels, expected) => {
    const ast = parseSelector(selector);
    expect(evaluateSelector(ast, labels)).toBe(expected);
    expect(evaluateSelector(ast, new Map(Object.entries(labels)))).toBe(expected);
  });

  it('does not see inherited properties as labels', () => {
    expect(evaluateSelector(parseSelector('has(toString)'), {})).toBe(false);
    expect(evaluateSelector(parseSelector('constructor != "x"'), {})).toBe(true);
  });
});
