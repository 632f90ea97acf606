/**
 * Writes PNG screenshots of the console's main pages to screenshots/: a fresh build, a real
 * backend (memory store), a small DDI fleet that takes an update (some succeed, one fails, some
 * are still pending), Chromium at 1280x800. `pnpm --filter @otaflow/console screenshots`.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DdiClient } from '@otaflow/ddi-http';
import {
  buildConsole,
  CHROMIUM,
  hasChromium,
  launch,
  logIn,
  mgmt,
  newPage,
  startConsoleBackend,
} from '../test/harness';

const OUT = fileURLToPath(new URL('../screenshots/', import.meta.url));

if (!hasChromium()) {
  console.error(`no Chromium at ${CHROMIUM}: apt-get install chromium`);
  process.exit(1);
}
await buildConsole();
await mkdir(OUT, { recursive: true });
const work = await mkdtemp(join(tmpdir(), 'otaflow-screenshots-'));
const backend = await startConsoleBackend();
const browser = await launch();
try {
  const page = await newPage(browser);
  await page.goto(`${backend.url}/ui/`);
  await page.getByLabel('Password').fill('admin');
  await page.screenshot({ path: join(OUT, 'login.png') });
  await logIn(page, backend);
  await page.getByRole('heading', { name: 'Fleet overview' }).waitFor();

  const ids = Array.from({ length: 12 }, (_, i) => `sensor-${String(i + 1).padStart(2, '0')}`);
  const failing = new Set(['sensor-05']);
  const devices = ids.map(
    (controllerId) =>
      new DdiClient({
        baseUrl: backend.url,
        tenant: backend.tenant,
        controllerId,
        downloadDir: join(work, controllerId),
        installer: {
          async install(job) {
            await job.report(['writing the image'], { cnt: 1, of: 2 });
            return failing.has(controllerId)
              ? { success: false, details: ['flash write failed'], code: 7 }
              : { success: true, details: ['installed'] };
          },
        },
        configData: () => ({ data: { model: 'door-sensor', hw: 'rev-c' } }),
      }),
  );
  const step = () => new Promise((resolve) => setTimeout(resolve, 700));
  // First contact registers them over DDI, a few at a time, so the chart has a history.
  for (let i = 0; i < devices.length; i += 4) {
    await Promise.all(devices.slice(i, i + 4).map((d) => d.pollOnce()));
    await step();
  }
  await mgmt(backend, 'POST', '/targets', [
    { controllerId: 'gateway-01', name: 'Gateway (not yet seen)' },
  ]);
  const [module] = await mgmt<{ id: number }[]>(backend, 'POST', '/softwaremodules', [
    { name: 'door-firmware', version: '3.1.0', type: 'os', vendor: 'otaflow' },
  ]);
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(256 * 1024)]), 'door-firmware-3.1.0.swu');
  await fetch(`${backend.url}/rest/v1/softwaremodules/${module?.id}/artifacts`, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` },
    body: form,
  });
  const [set] = await mgmt<{ id: number }[]>(backend, 'POST', '/distributionsets', [
    { name: 'door-release', version: '3.1.0', type: 'os', modules: [{ id: module?.id }] },
  ]);
  await mgmt(
    backend,
    'POST',
    `/distributionsets/${set?.id}/assignedTargets`,
    ids.slice(0, 10).map((id) => ({ id })),
  );
  await step();
  for (let i = 0; i < 8; i += 3) {
    await Promise.all(devices.slice(i, Math.min(i + 3, 8)).map((d) => d.pollOnce()));
    await step();
  }
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(OUT, 'overview.png') });

  await page.getByRole('link', { name: 'Targets', exact: true }).click();
  await page.locator('tr[data-target="sensor-12"]').waitFor();
  await page.screenshot({ path: join(OUT, 'targets.png') });

  await page.getByRole('link', { name: 'sensor-02' }).click();
  await page.getByTestId('target-status').waitFor();
  await page.screenshot({ path: join(OUT, 'target.png') });

  await page.locator('table[aria-label="Actions"] a').first().click();
  await page.locator('svg.machine').waitFor();
  await page.screenshot({ path: join(OUT, 'action.png'), fullPage: true });

  await page.getByRole('link', { name: 'Software', exact: true }).click();
  await page.locator('tr[data-module="door-firmware:3.1.0"]').waitFor();
  await page.screenshot({ path: join(OUT, 'software.png') });

  // The last two sensors get the release as a rollout of two groups, the first started.
  const rollout = await mgmt<{ id: number }>(backend, 'POST', '/rollouts', {
    name: 'door-release-wave',
    distributionSetId: set?.id,
    targetFilterQuery: 'controllerId=in=(sensor-11,sensor-12)',
    amountGroups: 2,
  });
  await mgmt(backend, 'POST', `/rollouts/${rollout.id}/start`);
  await page.getByRole('link', { name: 'Rollouts', exact: true }).click();
  await page
    .locator('article[data-rollout="door-release-wave"] tr[data-group="group-2"]')
    .waitFor();
  await page.waitForTimeout(1500);
  await page.getByRole('link', { name: 'Rollouts', exact: true }).click();
  await page.screenshot({ path: join(OUT, 'rollouts.png') });
  for (const device of devices) await device.close();
  console.log(`screenshots written to ${OUT}`);
} finally {
  await browser.close();
  await backend.app.stop();
  await rm(work, { recursive: true, force: true });
}
