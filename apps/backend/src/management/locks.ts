import { KeyedLock } from '@otaflow/core';

const locks = new WeakMap<object, KeyedLock>();

/**
 * The keyed lock that belongs to `owner` (an API's context, an artifact store): one per owner,
 * made on first use, gone with it. Endpoints take it where a check and the write that depends on
 * it must not interleave with another request's (a unique name, a quota, one upload per name).
 */
export function lockOf(owner: object): KeyedLock {
  let lock = locks.get(owner);
  if (!lock) {
    lock = new KeyedLock();
    locks.set(owner, lock);
  }
  return lock;
}
