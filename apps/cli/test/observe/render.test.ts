// The followed table: printed a row at a time, its columns as wide as the widest cell so
// far (a later, wider cell pushes its own row's later columns; earlier rows stay).

import { describe, expect, it } from 'vitest';

import { FollowedTable } from '../../src/observe/render.js';
import { FLOWS } from './fixtures.js';

describe('FollowedTable', () => {
  it('prints the header with the first rows, then rows aligned to the widths seen so far', () => {
    const table = new FollowedTable(undefined, FLOWS.slice(0, 1));
    expect(table.rows(FLOWS.slice(0, 1))).toBe([
      'TIME                      NODE    SOURCE                     DESTINATION                 PROTOCOL  VERDICT    DECIDED BY',
      '2026-11-28T10:00:00.125Z  node-2  production/frontend:43512  production/api-server:8080  TCP SYN   FORWARDED  ingress: NetworkPolicy production/allow-api spec.ingress[0] from[0]',
      '',
    ].join('\n'));
    // Wider cells (TCP SYN,ACK; DROPPED (POLICY_DENIED)) widen their columns from their row on.
    expect(table.rows(FLOWS.slice(1, 3))).toBe([
      '2026-11-28T10:00:01.000Z  node-2  production/api-server:8080  production/frontend:43512   TCP SYN,ACK  FORWARDED  reply of an established connection',
      '2026-11-28T10:00:02.000Z  node-2  default/web:50000           production/api-server:8080  TCP SYN      DROPPED (POLICY_DENIED)  ingress: isolated by NetworkPolicy production/allow-api',
      '',
    ].join('\n'));
    expect(table.rows([])).toBe('');
  });
});
