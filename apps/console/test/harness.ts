import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ReadyApp, startReadyApp } from '@otaflow/cli';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build } from 'vite';

export const CHROMIUM = process.env.OTAFLOW_CHROMIUM ?? '/usr/bin/chromium';
export const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
const DIST_INDEX = fileURLToPath(new URL('../dist/index.html', import.meta.url));
/** apps import packages, never another app: the backend runs as a child process, from its source. */
const BACKEND_MAIN = fileURLToPath(new URL('../../backend/src/main.ts', import.meta.url));

export const hasChromium = () => existsSync(CHROMIUM);

export async function buildConsole(): Promise<void> {
  await build({ root: APP_DIR, logLevel: 'warn' });
}

/** Builds the console unless it is built already (turbo builds it before `pnpm test`). */
export async function ensureBuilt(): Promise<void> {
  if (!existsSync(DIST_INDEX)) await buildConsole();
}

export interface ConsoleBackend {
  url: string;
  tenant: string;
  app: ReadyApp;
}

/** A real backend on a free port with the memory store, serving the built console. */
export async function startConsoleBackend(): Promise<ConsoleBackend> {
  const app = await startReadyApp(BACKEND_MAIN, [
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--store',
    'memory',
    // The ready line, which tells the URL, is an info line.
    '--log-level',
    'info',
    '--ddi-polling-sleep',
    '00:00:01',
  ]);
  return { url: String(app.ready.url), tenant: String(app.ready.tenant), app };
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Containers run tests as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox'],
  });
}

export async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  return context.newPage();
}

export async function logIn(page: Page, backend: ConsoleBackend, password = 'admin') {
  await page.goto(`${backend.url}/ui/`);
  await page.getByLabel('User').fill('admin');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export const AUTH = `Basic ${Buffer.from('admin:admin').toString('base64')}`;

/** A Management API call of the test's own (seeding, checking what the page did). */
export async function mgmt<T>(
  backend: ConsoleBackend,
  method: string,
  path: string,
  body?: unknown,
) {
  const res = await fetch(`${backend.url}/rest/v1${path}`, {
    method,
    headers: {
      Authorization: AUTH,
      Accept: 'application/json',
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}
