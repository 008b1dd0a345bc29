/**
 * Runs once before the suite: migrates a template database (SQLite file or PostgreSQL template
 * database) that every test file then copies, so no test pays for migrations.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { PROJECT_ROOT } from '../../src/config.ts';
import { TEMPLATE_PG, TEMPLATE_SQLITE, TEST_TMP, databaseUrl, onPostgres } from './env.ts';

function migrate(url: string) {
  execFileSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'prisma-cli.cjs'), 'migrate', 'deploy'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

export default async function setup() {
  fs.mkdirSync(TEST_TMP, { recursive: true });
  if (!onPostgres) {
    for (const f of fs.readdirSync(TEST_TMP)) if (/\.db(-wal|-shm|-journal)?$/.test(f)) fs.rmSync(path.join(TEST_TMP, f));
    migrate(`file:${TEMPLATE_SQLITE}`);
    return;
  }
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    const stale = await admin.query<{ datname: string }>(
      "select datname from pg_database where datname like 'dl\\_test\\_%' escape '\\'",
    );
    for (const { datname } of stale.rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${TEMPLATE_PG}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(databaseUrl);
  url.pathname = `/${TEMPLATE_PG}`;
  migrate(url.toString());
}
