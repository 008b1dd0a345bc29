/**
 * Runs the Prisma CLI (`node scripts/prisma-cli.cjs migrate deploy`) with two adjustments:
 * - Prisma 6.19's WASM schema engine arms a 10 s JavaScript timer (an advisory-lock timeout on
 *   PostgreSQL) that it never clears, so every CLI run against PostgreSQL idled 10 s before
 *   exiting. A preload unrefs long timers: the process still waits for its sockets and children.
 * - The update/telemetry check is off: these machines reach no host but the package registries.
 */
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const result = spawnSync(
  process.execPath,
  ['-r', path.join(__dirname, 'prisma-unref-timers.cjs'), require.resolve('prisma/build/index.js'), ...process.argv.slice(2)],
  { stdio: 'inherit', env: { ...process.env, CHECKPOINT_DISABLE: '1' } },
);
process.exit(result.status ?? 1);
