/**
 * Keeps the SQLite and PostgreSQL migration folders in step with prisma/schema.prisma.
 *
 *   npm run db:migration -- <snake_case_name>   write the next migration for both databases
 *   npm run db:check [-- --postgres <url>]       exit 1 when a folder does not build the schema
 *
 * Prisma's `migrate dev` and `migrate diff --from-migrations` need to describe a PostgreSQL
 * database, which the JavaScript schema engine of 6.19 cannot do through @prisma/adapter-pg
 * (it fails on the catalog's "char" columns). So:
 * - new migrations are diffed from an introspection of the SQLite migration history (`db pull`
 *   works there), re-targeted at each provider;
 * - the check builds two scratch databases per provider, one from the migration folder and one
 *   from the schema's full DDL, and compares their structure (tables, columns, indexes, keys).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PROJECT_ROOT } from '../src/config.ts';
import { DERIVED, SOURCE, derivePostgresSchema } from './sync-schemas.ts';

export type Provider = 'sqlite' | 'postgresql';
export const providers: Provider[] = ['sqlite', 'postgresql'];
export const DEFAULT_POSTGRES_URL = 'postgresql://downloads:downloads@localhost:5432/downloads';

const PRISMA_CLI = path.join(PROJECT_ROOT, 'scripts', 'prisma-cli.cjs');
const folders: Record<Provider, string> = {
  sqlite: path.join(PROJECT_ROOT, 'prisma'),
  postgresql: path.join(PROJECT_ROOT, 'prisma', 'postgres'),
};
const schemaFile = (provider: Provider) => path.join(folders[provider], 'schema.prisma');

function prisma(args: string[], databaseUrl: string): string {
  return execFileSync(process.execPath, [PRISMA_CLI, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function withTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dl-migrations-'));
  return work(dir).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
}

/** Runs `work` with the URL of an empty scratch database, removed afterwards. */
async function withScratchDatabase<T>(
  provider: Provider,
  postgresUrl: string,
  work: (url: string) => Promise<T>,
): Promise<T> {
  if (provider === 'sqlite') return withTempDir((dir) => work(`file:${path.join(dir, 'scratch.db')}`));
  const name = `dl_scratch_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
    const url = new URL(postgresUrl);
    url.pathname = `/${name}`;
    return await work(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}

async function executeSql(provider: Provider, url: string, sql: string): Promise<void> {
  if (provider === 'sqlite') {
    const db = new Database(url.slice('file:'.length));
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A sorted text description of every table, column, index and key, without Prisma's own table. */
export async function describeStructure(provider: Provider, url: string): Promise<string[]> {
  if (provider === 'sqlite') {
    const db = new Database(url.slice('file:'.length), { readonly: true });
    try {
      const tables = db
        .prepare(
          "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name != '_prisma_migrations'",
        )
        .pluck()
        .all() as string[];
      const lines: string[] = [];
      for (const table of tables) {
        for (const c of db.pragma(`table_info("${table}")`) as Record<string, unknown>[])
          lines.push(`column ${table}.${c.name} ${c.type} notnull=${c.notnull} default=${c.dflt_value} pk=${c.pk}`);
        for (const i of db.pragma(`index_list("${table}")`) as Record<string, unknown>[]) {
          const cols = (db.pragma(`index_info("${i.name}")`) as { name: string }[]).map((x) => x.name);
          lines.push(`index ${table}.${i.name} unique=${i.unique} (${cols.join(',')})`);
        }
        for (const f of db.pragma(`foreign_key_list("${table}")`) as Record<string, unknown>[])
          lines.push(`fk ${table}.${f.from} -> ${f.table}.${f.to} update=${f.on_update} delete=${f.on_delete}`);
      }
      return lines.sort();
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const queries = [
      `select 'column ' || table_name || '.' || column_name || ' ' || data_type || ' nullable=' || is_nullable
              || ' default=' || coalesce(column_default, '') as line
         from information_schema.columns where table_schema = 'public' and table_name != '_prisma_migrations'`,
      `select 'index ' || indexdef as line from pg_indexes
        where schemaname = 'public' and tablename != '_prisma_migrations'`,
      `select 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) as line
         from pg_constraint where connamespace = 'public'::regnamespace
          and conrelid::regclass::text not like '%_prisma_migrations%'`,
    ];
    const lines: string[] = [];
    for (const q of queries) lines.push(...(await client.query<{ line: string }>(q)).rows.map((r) => r.line));
    return lines.sort();
  } finally {
    await client.end();
  }
}

/** Lines present in one structure and not the other; empty when the migrations build the schema. */
export async function migrationDrift(
  provider: Provider,
  postgresUrl = DEFAULT_POSTGRES_URL,
  schema = schemaFile(provider),
): Promise<string[]> {
  const fromMigrations = await withScratchDatabase(provider, postgresUrl, async (url) => {
    prisma(['migrate', 'deploy'], url);
    return describeStructure(provider, url);
  });
  const fromSchema = await withScratchDatabase(provider, postgresUrl, async (url) => {
    const ddl = prisma(['migrate', 'diff', '--from-empty', '--to-schema-datamodel', schema, '--script'], url);
    await executeSql(provider, url, ddl);
    return describeStructure(provider, url);
  });
  const a = new Set(fromMigrations);
  const b = new Set(fromSchema);
  return [
    ...fromSchema.filter((l) => !a.has(l)).map((l) => `missing from migrations: ${l}`),
    ...fromMigrations.filter((l) => !b.has(l)).map((l) => `only in migrations:     ${l}`),
  ];
}

export function derivedSchemaIsCurrent(): boolean {
  const expected = derivePostgresSchema(fs.readFileSync(SOURCE, 'utf8'));
  return fs.existsSync(DERIVED) && fs.readFileSync(DERIVED, 'utf8') === expected;
}

/** SQL per provider that takes the current migration history to the schema. */
async function nextMigrationSql(): Promise<Record<Provider, string>> {
  const pulled = await withScratchDatabase('sqlite', DEFAULT_POSTGRES_URL, async (url) => {
    prisma(['migrate', 'deploy'], url);
    const out = prisma(['db', 'pull', '--print'], url);
    return out.slice(out.indexOf('generator client'));
  });
  return withTempDir(async (dir) => {
    const result = {} as Record<Provider, string>;
    for (const provider of providers) {
      const from = path.join(dir, `${provider}.prisma`);
      fs.writeFileSync(from, provider === 'sqlite' ? pulled : derivePostgresSchema(pulled));
      const url = provider === 'sqlite' ? `file:${path.join(dir, 'unused.db')}` : DEFAULT_POSTGRES_URL;
      const sql = prisma(
        ['migrate', 'diff', '--from-schema-datamodel', from, '--to-schema-datamodel', schemaFile(provider), '--script'],
        url,
      );
      result[provider] = /^-- This is an empty migration\.\s*$/.test(sql.trim()) ? '' : sql;
    }
    return result;
  });
}

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at > 0 && process.argv[at + 1] ? process.argv[at + 1]! : fallback;
}

async function main() {
  const [command, name] = process.argv.slice(2);
  if (!derivedSchemaIsCurrent()) {
    fs.writeFileSync(DERIVED, derivePostgresSchema(fs.readFileSync(SOURCE, 'utf8')));
    console.log('updated prisma/postgres/schema.prisma from prisma/schema.prisma');
  }
  if (command === 'check') {
    let drifted = false;
    for (const provider of providers) {
      const drift = await migrationDrift(provider, option('--postgres', DEFAULT_POSTGRES_URL));
      drifted ||= drift.length > 0;
      console.log(drift.length ? `${provider}: drift\n  ${drift.join('\n  ')}` : `${provider}: migrations build the schema`);
    }
    process.exit(drifted ? 1 : 0);
  }
  if (command === 'new' && name && /^[a-z0-9_]+$/.test(name)) {
    const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    const sql = await nextMigrationSql();
    for (const provider of providers) {
      if (!sql[provider]) {
        console.log(`${provider}: nothing to migrate`);
        continue;
      }
      const dir = path.join(folders[provider], 'migrations', `${stamp}_${name}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'migration.sql'), sql[provider]);
      console.log(`${provider}: wrote ${path.relative(PROJECT_ROOT, dir)}/migration.sql`);
    }
    return;
  }
  console.error('usage: migrations.ts check [--postgres <url>] | new <snake_case_name>');
  process.exit(2);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
