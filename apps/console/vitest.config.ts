import { mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.js';

export default mergeConfig(sharedConfig, {
  // Browser tests start a backend and Chromium: one file at a time on a shared machine.
  test: { fileParallelism: false },
});
