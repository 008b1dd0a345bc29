/**
 * Prisma CLI configuration. The CLI runs the JavaScript schema engine through the same driver
 * adapters as the app (Prisma's native engine cannot be downloaded here; see README "Database").
 * The database, and with it the schema file and migration folder, come from DATABASE_URL as
 * read by src/config.ts, the one module that reads the environment.
 */
import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { ConfigError, loadConfig, PROJECT_ROOT } from './src/config.ts';
import { prepareSqliteFile } from './src/db-sqlite-file.ts';

function readDatabase() {
  try {
    return loadConfig().database;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}

const database = readDatabase();
const folder = database.kind === 'sqlite' ? 'prisma' : path.join('prisma', 'postgres');

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join(PROJECT_ROOT, folder, 'schema.prisma'),
  migrations: { path: path.join(PROJECT_ROOT, folder, 'migrations') },
  async adapter() {
    if (database.kind === 'sqlite') {
      prepareSqliteFile(database.file!);
      return new PrismaBetterSqlite3({ url: database.file! });
    }
    // Connection fields rather than a connectionString: the adapter builds its shadow database
    // config as {...config, database}, which a connectionString would override.
    const url = new URL(database.url);
    return new PrismaPg({
      host: url.hostname,
      port: Number(url.port || 5432),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      database: decodeURIComponent(url.pathname.slice(1)),
      // Idle connections close at once, so the shadow database can be dropped after a diff.
      idleTimeoutMillis: 1,
    });
  },
});
