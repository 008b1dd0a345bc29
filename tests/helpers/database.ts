/** A fresh, migrated database for one test file: a copy of the template made in global setup. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { TEMPLATE_PG_PREFIX, TEMPLATE_SQLITE, TEST_TMP, databaseUrl, onPostgres } from './env.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgTemplate: string;
  }
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (!onPostgres) {
    const name = `dl_test_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
    const file = path.join(TEST_TMP, `${name}.db`);
    fs.copyFileSync(TEMPLATE_SQLITE, file);
    return {
      url: `file:${file}`,
      async drop() {
        for (const suffix of ['', '-wal', '-shm', '-journal']) fs.rmSync(file + suffix, { force: true });
      },
    };
  }
  const template = inject('pgTemplate');
  const name = `dl_test_${template.slice(TEMPLATE_PG_PREFIX.length)}_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  // Concurrent CREATE DATABASE ... TEMPLATE calls on one template fail ("being accessed by other
  // users"); an advisory lock serialises them across test workers.
  await admin.query('SELECT pg_advisory_lock(4242)');
  try {
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  } finally {
    await admin.query('SELECT pg_advisory_unlock(4242)');
    await admin.end();
  }
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
