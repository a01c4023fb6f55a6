import { describe, expect, it } from 'vitest';

import {
  CEASE,
  FSM_ERROR,
  HEADER_ERROR,
  INITIAL_NEGOTIATED_STATE,
  NOTIFICATION_CODE,
  OPEN_ERROR,
  ROUTE_REFRESH_ERROR,
  UPDATE_ERROR,
  decodeMessage,
  describeNotification,
  encodeMessage,
  notificationFromError,
} from '@twill/bgp';

import { expectNotification, message } from './helpers.js';

describe('NOTIFICATION codes and subcodes', () => {
  const tables: readonly (readonly [number, Record<string, number>])[] = [
    [NOTIFICATION_CODE.MESSAGE_HEADER_ERROR, HEADER_ERROR],
    [NOTIFICATION_CODE.OPEN_MESSAGE_ERROR, OPEN_ERROR],
    [NOTIFICATION_CODE.UPDATE_MESSAGE_ERROR, UPDATE_ERROR],
    [NOTIFICATION_CODE.FSM_ERROR, FSM_ERROR],
    [NOTIFICATION_CODE.CEASE, CEASE],
    [NOTIFICATION_CODE.ROUTE_REFRESH_MESSAGE_ERROR, ROUTE_REFRESH_ERROR],
  ];

  it.each(tables)('every subcode of code %i has a name and a description', (code, subcodes) => {
    for (const subcode of Object.values(subcodes)) {
      const text = describeNotification(code, subcode);
      expect(text.subcode.name).not.toMatch(/^Unknown/);
      expect(text.subcode.description.length).toBeGreaterThan(5);
    }
  });

  it('names every code', () => {
    for (const code of Object.values(NOTIFICATION_CODE)) expect(describeNotification(code, 0).code.name).not.toMatch(/^Unknown/);
    expect(describeNotification(6, 7).text).toBe('Cease / Connection Collision Resolution');
    expect(describeNotification(3, 0).text).toBe('UPDATE Message Error / Unspecific');
    expect(describeNotification(42, 9).text).toBe('Unknown error code 42 / Unknown subcode 9');
  });

  it('turns a decode error into the NOTIFICATION message to send', () => {
    const error = expectNotification(() => decodeMessage(message(7, []), INITIAL_NEGOTIATED_STATE));
    const notification = notificationFromError(error);
    expect(notification).toEqual({ type: 'notification', errorCode: 1, errorSubcode: 3, data: Uint8Array.of(7) });
    expect(Array.from(encodeMessage(notification, INITIAL_NEGOTIATED_STATE).subarray(19))).toEqual([1, 3, 7]);
  });
});
