import { describe, expect, test } from 'vitest';
import { eventIdFloor, eventIdForRequest, eventIdSuffix, newEventId } from '../../src/lib/event-ids.ts';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('event ids', () => {
  test('are UUIDv7 and sort by time', () => {
    const a = newEventId(1_700_000_000_000);
    const b = newEventId(1_700_000_000_001);
    expect(a).toMatch(UUID_V7);
    expect(a < b).toBe(true);
    expect(new Set(Array.from({ length: 10_000 }, () => newEventId(5))).size).toBe(10_000);
  });

  test.each([0x19a1fca54a1, 0x19a1fca8a10, 0x19a1fca5fff])('a time window around %i contains exactly its own ids', (ms) => {
    const id = newEventId(ms);
    expect(id >= eventIdFloor(ms) && id < eventIdFloor(ms + 1)).toBe(true);
    expect(newEventId(ms - 1) < eventIdFloor(ms)).toBe(true);
    expect(newEventId(ms + 1) >= eventIdFloor(ms + 1)).toBe(true);
  });

  test('carry nginx request id bits, recognisable by suffix within their time window', () => {
    const requestId = '2ceb97df04497828133752d49ca8bb79';
    const id = eventIdForRequest(requestId, 1_795_238_886_236);
    expect(id).toMatch(UUID_V7);
    expect(id.endsWith(eventIdSuffix(requestId))).toBe(true);
    expect(id >= eventIdFloor(1_795_238_886_236)).toBe(true);
    expect(id < eventIdFloor(1_795_238_886_237)).toBe(true);
    expect(id > eventIdFloor(1_795_238_886_235)).toBe(true);
  });
});
