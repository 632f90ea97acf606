import { MemoryUpdateStore } from '@otaflow/core';
import { describeUpdateStore } from './updateStoreContract.js';

describeUpdateStore('memory', async () => new MemoryUpdateStore());
