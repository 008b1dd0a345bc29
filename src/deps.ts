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
import { createArchiveImporter, type ArchiveImporter } from './archives/archive-import.ts';

import { createDownloadRecorder, type DownloadRecorder } from './events/download-recorder.ts';
import { createCompletionWriter, createEventBatchWriter } from './events/event-batch-writer.ts';
import { createNginxLogIngest } from './events/nginx-log-ingest.ts';
import { createDownloadResolver, type DownloadResolver } from './serving/download-resolver.ts';
import { createDelivery } from './serving/delivery.ts';
import { createTargetLocator, type TargetLocator } from './serving/file-target.ts';
import type { AccessPolicy } from './serving/access.ts';
import { createTokenService, type TokenService } from './tokens/token-service.ts';
import { createTokenAccess } from './tokens/token-access.ts';
import { createTokenValidatorRegistry, type TokenValidatorRegistry } from './tokens/token-validators.ts';
import type { ServingEvents } from './serving/serve-events.ts';
import { createGeneratedDownloads, type GeneratedDownloads } from './generators/generated-downloads.ts';
import { createGeneratedDownloadService, type GeneratedDownloadService } from './generators/generated-download-service.ts';

/** Every in-process event, by name (the README lists them for extensions). */
export type AppEvents = DownloadEvents & ServingEvents;

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
  archives: ArchiveImporter;
  recorder: DownloadRecorder;
  resolver: DownloadResolver;
  delivery: ReturnType<typeof createDelivery>;
  locate: TargetLocator;
  access: AccessPolicy;
  tokens: TokenService;
  /** Extensions add token validators here (README "Tokens"). */
  tokenValidators: TokenValidatorRegistry;
  ingestNginxLog: ReturnType<typeof createNginxLogIngest>;
  /** Generator kinds (extensions register theirs here: README "Generated downloads"), cache, cleanup. */
  generated: GeneratedDownloads;
  generatedDownloads: GeneratedDownloadService;
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
  const downloads = createDownloadService({ db, dbKind: database.kind, repo, categories, files, clock, config, bus });
  const catalogue = createCatalogueService({ repo, categories, clock });
  const archives = createArchiveImporter({ downloads, categories, files, config });
  const recorder = createDownloadRecorder({
    write: createEventBatchWriter(database),
    log,
    onBatch: (size) => metrics.groupCommitSize.observe(size),
  });
  const resolver = createDownloadResolver({ downloads, clock });
  for (const type of ['download.created', 'download.updated', 'download.deleted'] as const) bus.on(type, () => resolver.clear());
  const delivery = createDelivery(config);
  const generated = createGeneratedDownloads({ config, clock, files });
  const generatedDownloads = createGeneratedDownloadService({ downloads, generated, files, clock, config });
  const locate = createTargetLocator({ files, generated: generated.locate });
  const tokens = createTokenService({ db, clock, config });
  const tokenValidators = createTokenValidatorRegistry(clock);
  const access = createTokenAccess({ tokens, validators: tokenValidators, clock, config });
  const ingestNginxLog = createNginxLogIngest({
    db,
    recorder,
    complete: createCompletionWriter(database),
    refundToken: (id) => tokens.refund(id),
  });

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
    archives,
    recorder,
    resolver,
    delivery,
    locate,
    access,
    tokens,
    tokenValidators,
    ingestNginxLog,
    generated,
    generatedDownloads,
    async close() {
      session.stop();
      await recorder.drain();
      await bus.settled();
      await database.close();
    },
  };
}
