/**
 * What the test run was given: the database to run the integration suite on (DATABASE_URL, as
 * in the README), and whether external services are mandatory (REQUIRE_SERVICES=1 in .ci/run:
 * a missing nginx, PostgreSQL or Chromium then fails the run instead of skipping).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config.ts';

export const TEST_TMP = path.join(PROJECT_ROOT, 'tests', '.tmp');
export const databaseUrl = process.env.DATABASE_URL ?? '';
export const onPostgres = /^postgres(ql)?:\/\//.test(databaseUrl);
export const servicesRequired = process.env.REQUIRE_SERVICES === '1';
export const TEMPLATE_SQLITE = path.join(TEST_TMP, 'template.db');
/** + a run id: each test run has its own PostgreSQL template (global-setup.ts). */
export const TEMPLATE_PG_PREFIX = 'dl_tpl_';

function which(binary: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const nginxBinary = which('nginx') ?? (fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : undefined);
export const chromiumBinary = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));

/**
 * For `describe.skipIf(...)`: true when the service is missing and optional. When services are
 * required, nothing is skipped and the suite's own setup fails loudly on the missing binary.
 */
export function skipWithout(available: unknown): boolean {
  return !available && !servicesRequired;
}
