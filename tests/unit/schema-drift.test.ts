/**
 * The two schema files and two migration folders must describe the same database: the derived
 * PostgreSQL schema is regenerated from the SQLite one, and each migration folder, applied to an
 * empty database, must build exactly what its schema describes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { derivedSchemaIsCurrent, migrationDrift } from '../../scripts/migrations.ts';
import { PROJECT_ROOT } from '../../src/config.ts';
import { TEST_TMP, databaseUrl, onPostgres } from '../helpers/env.ts';

describe('schema and migrations stay in step', () => {
  test('prisma/postgres/schema.prisma is the derivation of prisma/schema.prisma', () => {
    expect(derivedSchemaIsCurrent()).toBe(true);
  });

  test('the SQLite migrations build the schema', async () => {
    expect(await migrationDrift('sqlite')).toEqual([]);
  });

  test('a model change without a migration is detected', async () => {
    const changed = fs
      .readFileSync(path.join(PROJECT_ROOT, 'prisma', 'schema.prisma'), 'utf8')
      .replace('model Setting {\n', 'model Setting {\n  note      String?\n');
    fs.mkdirSync(TEST_TMP, { recursive: true });
    const file = path.join(TEST_TMP, `drift-${process.pid}.prisma`);
    fs.writeFileSync(file, changed);
    try {
      const drift = await migrationDrift('sqlite', undefined, file);
      expect(drift).toEqual([expect.stringMatching(/^missing from migrations: column Setting\.note TEXT notnull=0/)]);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  test.runIf(onPostgres)('the PostgreSQL migrations build the schema', async () => {
    expect(await migrationDrift('postgresql', databaseUrl)).toEqual([]);
  });
});
