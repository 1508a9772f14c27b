/**
 * Vitest globalSetup: one headless Chromium for the whole run, started on first use.
 *
 * Launching and closing a Chromium costs one to three seconds of wall time (measured: 2.4-3.1 s
 * against 0.8 s to connect, open a page and disconnect, on a busy 2-core box), and 27 browser test
 * files each paid it. Here the run's main process starts one with `chromium.launchServer` (the same
 * executable and flags as a file's own launch) and the files' `launchBrowser()`
 * (test/helpers/browser.ts) connects to it over a loopback WebSocket.
 *
 * globalSetup runs whatever files are selected, so Chromium is not started here: a small HTTP
 * endpoint on loopback starts it on the first request and answers with its ws endpoint. A run with
 * no browser file pays for one idle listener. The teardown (run by vitest after the last file,
 * failed or not) closes Chromium.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserServer } from 'playwright-core';
import type { TestProject } from 'vitest/node';
// Also declares the `browserServerUrl` key of vitest's ProvidedContext, next to its reader.
import { CHROMIUM_LAUNCH } from './browser.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let browser: Promise<BrowserServer> | undefined;
  const start = (): Promise<BrowserServer> => {
    const started = chromium.launchServer({ ...CHROMIUM_LAUNCH, host: '127.0.0.1' });
    // Should Chromium crash, the files after it get a new one rather than a dead endpoint.
    void started.then((b) => b.once('close', () => browser === started && (browser = undefined)), () => undefined);
    return started;
  };
  const server = createServer((_req, res) => {
    (browser ??= start()).then(
      (b) => res.end(b.wsEndpoint()),
      (err: Error) => {
        res.statusCode = 500;
        res.end(err.message);
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  project.provide('browserServerUrl', `http://127.0.0.1:${(server.address() as AddressInfo).port}/`);

  return async () => {
    server.close();
    const b = await browser?.catch(() => undefined);
    await b?.close();
  };
}
