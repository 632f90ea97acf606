import { MemoryUpdateStore } from '@otaflow/core';
import { describeOutbox } from './outboxContract.js';
import { describeUpdateStore } from './updateStoreContract.js';

describeUpdateStore('memory', async () => new MemoryUpdateStore());

describeOutbox('memory', async () => {
  const store = new MemoryUpdateStore();
  return { a: store, b: store };
});
