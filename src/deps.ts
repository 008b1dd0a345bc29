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
import { createAnalyticsService, type AnalyticsService } from './analytics/analytics-service.ts';
import { createDownloadFactsCache } from './analytics/download-facts.ts';
import { createEventRetention, type EventRetention } from './analytics/event-retention.ts';
import { createIntakeService, type IntakeService } from './analytics/intake-service.ts';
import { createRollupKeys } from './analytics/rollup-dimensions.ts';
import { createRequestedWebhooks } from './webhooks/requested-webhooks.ts';
import { createWebhookService, type WebhookService } from './webhooks/webhook-service.ts';
import { createWebhookWorker, type WebhookWorker } from './webhooks/webhook-worker.ts';

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
  analytics: AnalyticsService;
  intake: IntakeService;
  webhooks: WebhookService;
  /** Delivers the webhook outbox; main.ts starts it. */
  webhookWorker: WebhookWorker;
  /** Prunes raw events past EVENT_RETENTION_DAYS; main.ts starts it. */
  eventRetention: EventRetention;
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
  // What the rollups and download.requested webhooks read while a batch is written (see there).
  const facts = createDownloadFactsCache({ db, log });
  await facts.load();
  for (const type of ['download.created', 'download.updated', 'download.deprecated'] as const) bus.on(type, (d) => facts.refresh(d.id));
  bus.on('download.deleted', (d) => facts.forget(d.id));
  const requested = createRequestedWebhooks({ db, clock, log, describe: (id) => facts.get(id) });
  const recorder = createDownloadRecorder({
    write: createEventBatchWriter(database, createRollupKeys(facts), {
      prepare: (events) => {
        const loading = [facts.ensure(events.map((e) => e.downloadId)), requested.prepare()].filter((p) => p !== undefined);
        return loading.length ? Promise.all(loading).then(() => undefined) : undefined;
      },
      outbox: (inserted) => requested.outbox(inserted),
    }),
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
  const analytics = createAnalyticsService({ db });
  const intake = createIntakeService({
    db,
    recorder,
    clock,
    retentionDays: config.analytics.retentionDays,
    downloadIdOf: async (slug) => (await downloads.findBySlug(slug))?.id,
  });
  const webhookWorker = createWebhookWorker({ db, clock, log, config: config.webhooks });
  const webhooks = createWebhookService({
    db,
    clock,
    allowPrivateTargets: config.webhooks.allowPrivateTargets,
    onChange: () => requested.invalidate(),
  });
  const eventRetention = createEventRetention({ db, clock, log, retentionDays: config.analytics.retentionDays });

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
    analytics,
    intake,
    webhooks,
    webhookWorker,
    eventRetention,
    async close() {
      session.stop();
      await webhookWorker.stop();
      await eventRetention.stop();
      await recorder.drain();
      await bus.settled();
      await database.close();
    },
  };
}
