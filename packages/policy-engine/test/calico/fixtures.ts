import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { parseAllDocuments } from 'yaml';

/** The directory of valid Calico fixtures. */
export const VALID_DIR = join(import.meta.dirname, 'fixtures', 'valid');

/** The fixture file names in {@link VALID_DIR}. */
export function validFixtureNames(): string[] {
  return readdirSync(VALID_DIR).filter((f) => f.endsWith('.yaml')).sort();
}

/** The decoded documents of one fixture file. */
export function loadFixture(name: string): unknown[] {
  const text = readFileSync(join(VALID_DIR, name), 'utf8');
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length > 0) throw new Error(`${name}: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS() as unknown;
  });
}
