import preact from '@preact/preset-vite';
import { defaultClientConditions, defineConfig } from 'vite';

/** Where `vite dev` sends API calls: a backend started with `pnpm --filter @otaflow/backend start`. */
const backend = process.env.OTAFLOW_BACKEND_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  // The backend serves the build under /ui/; every asset URL carries that prefix.
  base: '/ui/',
  plugins: [preact()],
  // The workspace's packages are bundled from their TypeScript sources: no build of core first.
  resolve: { conditions: ['@otaflow/source', ...defaultClientConditions] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  server: { proxy: { '/rest': backend, '/events': backend } },
});
