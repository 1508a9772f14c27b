/**
 * Vitest globalSetup: one throwaway PostgreSQL cluster for the whole run, started on first use.
 *
 * initdb plus a postmaster start cost one to two seconds of CPU per test file; CREATE DATABASE from
 * the template costs about a tenth of a second. So the HQ test files ask this process for a fresh
 * database of their own (test/helpers/pgShared.ts) instead of starting a cluster each.
 *
 * globalSetup runs whatever files are selected, so the cluster is not started here: a small HTTP
 * endpoint on loopback starts it on the first request. A run with no HQ file in it pays for one
 * idle listener, nothing more. The teardown (run by vitest after the last file, failed or not)
 * stops the cluster and removes its folder.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startPostgres, type Postgres } from './postgres.js';
// The `pgSharedUrl` key of vitest's ProvidedContext is declared there, next to its reader.
import type {} from './pgShared.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let cluster: Promise<Postgres> | undefined;
  let admin: pg.Client | undefined;
  let seq = 0;
  // Each file's ingest runs up to three workers with a pool each, plus the test's own pool and CLI
  // runs; two files run at once. 200 leaves room without tuning per file.
  const ensure = (): Promise<Postgres> =>
    (cluster ??= (async () => {
      const c = await startPostgres({ maxConnections: 200 });
      admin = new pg.Client({ connectionString: c.connectionString });
      await admin.connect();
      return c;
    })());

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const c = await ensure();
    if (req.method === 'POST' && req.url === '/db') {
      const name = `t${process.pid}_${++seq}`;
      await admin!.query(`CREATE DATABASE ${name}`);
      const connectionString = c.connectionString.replace(/\/postgres$/, `/${name}`);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name, port: c.port, dir: c.dir, connectionString }));
      return;
    }
    const drop = /^\/db\/(t\d+_\d+)$/.exec(req.url ?? '');
    if (req.method === 'DELETE' && drop) {
      // FORCE: a file that failed may leave a pool or a killed ingest's connections behind.
      await admin!.query(`DROP DATABASE IF EXISTS ${drop[1]} WITH (FORCE)`);
      res.end('{}');
      return;
    }
    res.statusCode = 404;
    res.end('{}');
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      res.statusCode = 500;
      res.end(JSON.stringify({ error: err.message }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  project.provide('pgSharedUrl', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);

  return async () => {
    server.close();
    if (!cluster) return;
    const c = await cluster.catch(() => undefined);
    await admin?.end().catch(() => undefined);
    await c?.remove();
  };
}
