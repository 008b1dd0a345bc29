/**
 * Runs once before the suite: migrates a template database (SQLite file or PostgreSQL template
 * database) that every test file then copies, so no test pays for migrations.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { PROJECT_ROOT } from '../../src/config.ts';
import { TEMPLATE_PG_PREFIX, TEMPLATE_SQLITE, TEST_TMP, databaseUrl, onPostgres } from './env.ts';

function migrate(url: string) {
  execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'prisma-cli.cjs'), 'migrate', 'deploy'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/**
 * PostgreSQL databases of this run are named after it (dl_test_<run>_…), so two runs on one
 * server (CI and a developer, say) never drop each other's databases; each run drops its own
 * when it ends.
 */
export default async function setup(project: { provide(key: 'pgTemplate', value: string): void }) {
  fs.mkdirSync(TEST_TMP, { recursive: true });
  if (!onPostgres) {
    for (const f of fs.readdirSync(TEST_TMP)) if (/\.db(-wal|-shm|-journal)?$/.test(f)) fs.rmSync(path.join(TEST_TMP, f));
    migrate(`file:${TEMPLATE_SQLITE}`);
    return;
  }
  const run = `${process.pid}${Date.now().toString(36)}`;
  const template = `${TEMPLATE_PG_PREFIX}${run}`;
  project.provide('pgTemplate', template);
  await withAdmin((admin) => admin.query(`CREATE DATABASE "${template}"`));
  const url = new URL(databaseUrl);
  url.pathname = `/${template}`;
  migrate(url.toString());
  return async () => {
    await withAdmin(async (admin) => {
      const mine = await admin.query<{ datname: string }>('select datname from pg_database where datname like $1', [`dl\\_test\\_${run}\\_%`]);
      for (const { datname } of mine.rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      await admin.query(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
    });
  };
}

async function withAdmin<T>(work: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}
