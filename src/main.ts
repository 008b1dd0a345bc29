/**
 * Process entry: configuration → dependencies → app → listen. On SIGTERM/SIGINT it stops
 * accepting connections, lets in-flight requests finish (up to SHUTDOWN_GRACE), flushes pending
 * writes and closes the database, then exits 0.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createDeps } from './deps.ts';

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

async function main() {
  const config = readConfig();
  const deps = await createDeps(config);
  const { log } = deps;
  const server = http.createServer(createApp(deps));
  // Uploads of large files may take long; slow clients are nginx's job (client_body_timeout).
  server.requestTimeout = 60 * 60_000;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.server.port, config.server.host, resolve);
  });
  const address = server.address() as AddressInfo;
  log.info({ port: address.port, host: address.address, database: config.database.kind, serveFrom: config.serving.mode }, `listening on http://${config.server.host}:${address.port}`);
  const sweeper = deps.generated.startSweeper(log);
  deps.webhookWorker.start();
  deps.eventRetention.start();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    sweeper.stop();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Keep-alive sockets become idle as their last response ends: close them as they do.
    const reaper = setInterval(() => server.closeIdleConnections(), 100);
    server.closeIdleConnections();
    const force = setTimeout(() => {
      log.warn('grace period over: closing remaining connections');
      server.closeAllConnections();
    }, config.server.shutdownGraceMs);
    force.unref();
    await closed;
    clearTimeout(force);
    clearInterval(reaper);
    await deps.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection'));
  process.on('uncaughtException', (error) => {
    log.fatal({ err: error }, 'uncaught exception');
    process.exit(1);
  });
}

await main();
