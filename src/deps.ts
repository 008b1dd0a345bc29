/**
 * Everything the app needs, built once from the configuration: database, logger, clock, metrics
 * and the domain services. main.ts and the tests both build it here; tests pass a clock or logger.
 */
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import type { Config } from './config.ts';
import { createDatabase, type Database } from './db.ts';
import { createLogger, type Logger } from './log.ts';
import { createPasswordHasher } from './auth/passwords.ts';
import { createUserService, type UserService } from './auth/user-service.ts';
import { createSessionMiddleware, type SessionMiddleware } from './http/session.ts';
import { createMetrics, type Metrics } from './ops/metrics.ts';
import { resolveSessionSecret } from './ops/settings-service.ts';
import { createEventBus, type EventBus } from './events/event-bus.ts';
import { createFileStore, type FileStore } from './storage/file-store.ts';
import { createCategoryService, type CategoryService } from './downloads/category-service.ts';
import { createDownloadRepository } from './downloads/download-repository.ts';
import { createDownloadService, type DownloadEvents, type DownloadService } from './downloads/download-service.ts';
import { createCatalogueService, type CatalogueService } from './downloads/catalogue-service.ts';

/** Every in-process event, by name (the README lists them for extensions). */
export type AppEvents = DownloadEvents;

export interface AppDeps {
  config: Config;
  database: Database;
  log: Logger;
  clock: Clock;
  metrics: Metrics;
  session: SessionMiddleware;
  users: UserService;
  bus: EventBus<AppEvents>;
  files: FileStore;
  categories: CategoryService;
  downloads: DownloadService;
  catalogue: CatalogueService;
  /** Finishes pending work (queued writes, workers) before the database closes. */
  close(): Promise<void>;
}

export interface DepsOverrides {
  log?: Logger;
  clock?: Clock;
}

export async function createDeps(config: Config, overrides: DepsOverrides = {}): Promise<AppDeps> {
  const log = overrides.log ?? createLogger(config);
  const clock = overrides.clock ?? systemClock;
  const database = await createDatabase(config.database);
  const db = database.prisma;
  const metrics = createMetrics();
  const session = createSessionMiddleware(config, db, await resolveSessionSecret(db, config.auth.sessionSecret));
  const users = createUserService({ db, hasher: createPasswordHasher(config.auth.scryptN), clock });
  const bus = createEventBus<AppEvents>(log);
  const files = createFileStore(config.media.root);
  const categories = createCategoryService({ db });
  const repo = createDownloadRepository(db, database.kind);
  const downloads = createDownloadService({ db, repo, categories, files, clock, config, bus });
  const catalogue = createCatalogueService({ repo, categories, clock });

  return {
    config,
    database,
    log,
    clock,
    metrics,
    session,
    users,
    bus,
    files,
    categories,
    downloads,
    catalogue,
    async close() {
      session.stop();
      await bus.settled();
      await database.close();
    },
  };
}
