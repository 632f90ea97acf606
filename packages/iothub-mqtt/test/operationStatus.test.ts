import { describe, expect, it } from 'vitest';
import { OperationStatus } from '../src/index.js';
import { safeParseOperationStatus } from '../src/softwareUpdatable.js';

describe('safeParseOperationStatus (the commander hot path)', () => {
  const inputs: unknown[] = [
    { correlationId: 'c1', status: 'STARTED', progress: 10, statusCode: '0' },
    {
      correlationID: 'c2',
      status: 'DOWNLOADING',
      Software: [{ group: 'g', name: 'n', version: '1' }],
    },
    { correlationId: 'c3', correlationID: 'ignored', status: 'DOWNLOADED_FILE_STORED' },
    { correlationId: '', status: 'STARTED' },
    { correlationId: 'c4', status: 'STARTED', progress: 101 },
    { status: 'STARTED' },
    'not an object',
    null,
    { correlationId: 'c5', status: 'FINISHED_ERROR', message: 'boom', statusCode: 3, extra: 1 },
  ];
  it.each(inputs.map((input) => [JSON.stringify(input), input]))(
    'gives what OperationStatus.safeParse gives for %s',
    (_, input) => {
      const fast = safeParseOperationStatus(input);
      const full = OperationStatus.safeParse(input);
      expect(fast.success).toBe(full.success);
      if (fast.success && full.success) expect(fast.data).toEqual(full.data);
      else expect(fast.error?.issues).toEqual(full.error?.issues);
    },
  );
});
