import { STATUS_CODES } from 'node:http';

/**
 * Spring Boot's error body, which hawkBit answers for 401, 404 (unmapped paths), 405, 406 and
 * 415, where its own ExceptionInfo is not used.
 */
export function springError(
  status: number,
  path: string,
): { timestamp: string; status: number; error: string; path: string } {
  return {
    timestamp: new Date().toISOString(),
    status,
    error: STATUS_CODES[status] ?? 'Error',
    path,
  };
}
