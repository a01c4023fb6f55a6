// The README of netpol/ maps every upstream netpol case to our fixture; this test holds
// the table to the fixtures: a `fixture` row must name a case of that title and suite in
// that file, and every upstream fixture must have a row (so a case added to the fixtures
// without a row, or a row whose fixture was renamed or dropped, fails here).

import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { ALL_CASES, CASES_BY_FILE } from './netpol/all-cases.js';

interface Row {
  readonly file: string;
  readonly suite: string;
  readonly title: string;
  readonly status: string;
  readonly ours: string;
}

function rows(): Row[] {
  const text = readFileSync(new URL('./netpol/README.md', import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((line) => /^\| network_policy/.test(line))
    .map((line) => {
      const [file, suite, title, status, ours] = line.slice(1, -1).split(' | ').map((cell) => cell.trim()) as [string, string, string, string, string];
      return { file, suite, title, status, ours };
    });
}

describe('netpol/README.md: upstream case -> fixture', () => {
  const table = rows();

  it('lists the 48 cases of network_policy.go and the 2 of network_policy_api.go, each once', () => {
    expect(table.filter((row) => row.file === 'network_policy.go')).toHaveLength(48);
    expect(table.filter((row) => row.file === 'network_policy_api.go')).toHaveLength(2);
    const keys = table.map((row) => `${row.suite} ${row.title}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('gives each row a status, and a reason when out of scope', () => {
    for (const row of table) {
      expect(['fixture', 'model-equivalent', 'out of scope'], row.title).toContain(row.status);
      expect(row.ours.length, row.title).toBeGreaterThan(0);
    }
  });

  it('names, for each fixture row, a case of that title and suite in that file', () => {
    const missing = table
      .filter((row) => row.status === 'fixture')
      .filter((row) => !(CASES_BY_FILE[row.ours] ?? []).some((c) => c.upstream && c.name === row.title && c.suite === row.suite))
      .map((row) => `${row.ours}: [${row.suite}] ${row.title}`);
    expect(missing).toEqual([]);
  });

  it('has a row for every upstream fixture', () => {
    const listed = new Set(table.map((row) => `${row.suite} ${row.title}`));
    const unlisted = ALL_CASES.filter((c) => c.upstream && !listed.has(`${c.suite} ${c.name}`)).map((c) => `[${c.suite}] ${c.name}`);
    expect(unlisted).toEqual([]);
  });
});
