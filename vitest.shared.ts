import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const pkg = (dir: string) =>
  fileURLToPath(new URL(`./packages/${dir}/src/index.ts`, import.meta.url));

/**
 * Tests run against the packages' TypeScript sources, so no build is needed first.
 * Broker tests are slow to start, hence the generous timeouts.
 */
export const sharedConfig = defineConfig({
  resolve: {
    alias: {
      '@otaflow/core': pkg('core'),
      '@otaflow/cli': pkg('cli'),
      // A subpath before its package: the first alias that matches wins.
      '@otaflow/ddi-http/testing': fileURLToPath(
        new URL('./packages/ddi-http/src/testing.ts', import.meta.url),
      ),
      '@otaflow/ddi-http': pkg('ddi-http'),
      '@otaflow/iothub-mqtt': pkg('iothub-mqtt'),
      '@otaflow/sie-amqp': pkg('sie-amqp'),
      '@otaflow/huawei-webhook/testing': fileURLToPath(
        new URL('./packages/huawei-webhook/src/testing.ts', import.meta.url),
      ),
      '@otaflow/huawei-webhook': pkg('huawei-webhook'),
      '@otaflow/store-postgres': pkg('store-postgres'),
    },
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    include: ['test/**/*.test.ts'],
    // The JSON report feeds the one summary line `pnpm test` prints for the whole repository.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest/result.json' },
  },
});
