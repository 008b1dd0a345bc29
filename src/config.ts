/**
 * The only module that reads the environment. Every setting of the outside contract
 * (../shared/CONTRACT.md) is declared here with its default, validated with zod, and frozen.
 * `loadConfig` reports every problem at once; main.ts prints them and exits 1.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { isHttpUrlWithoutCredentials } from './lib/urls.ts';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const ROLES = ['admin', 'editor', 'analyst'] as const;
export type Role = (typeof ROLES)[number];
export const roles: readonly Role[] = ROLES;

const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'], {
    error: 'expected true or false',
  })
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** "24h", "90m", "30s", "2d" or plain seconds → milliseconds */
const duration = z
  .string()
  .trim()
  .regex(/^\d+(ms|s|m|h|d)?$/, 'expected a duration like 30s, 15m, 24h or 7d')
  .transform((v) => {
    const match = /^(\d+)(ms|s|m|h|d)?$/.exec(v)!;
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 's']!;
    return Number(match[1]) * unit;
  });

/** "2G", "500M", "64k" or plain bytes → bytes */
const byteSize = z
  .string()
  .trim()
  .regex(/^\d+([kKmMgG]i?[bB]?)?$/, 'expected a size like 64k, 500M or 2G')
  .transform((v) => {
    const match = /^(\d+)([kmg])?/i.exec(v)!;
    const unit = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? '').toLowerCase()] ?? 1;
    return Number(match[1]) * unit;
  });

const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

const databaseUrl = z
  .string()
  .trim()
  .refine((v) => v.startsWith('file:') || /^postgres(ql)?:\/\//.test(v), {
    message: 'expected a file: URL (SQLite) or a postgresql:// URL (PostgreSQL)',
  });

const httpUrl = z
  .string()
  .trim()
  .refine(isHttpUrlWithoutCredentials, 'expected an http(s) URL without credentials');

/** Environment variables as they arrive: every value a string, every default written here. */
const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: int(0, 65535).default(3000),
    HOST: z.string().trim().min(1).default('0.0.0.0'),
    PUBLIC_URL: httpUrl.optional(),
    DATABASE_URL: databaseUrl.default('file:./data/downloads.db'),
    /** Connections per app instance (PostgreSQL); instances × this must stay under max_connections. */
    DATABASE_POOL_MAX: int(1, 1000).default(10),
    MEDIA_ROOT: z.string().trim().min(1).default('./media'),
    MEDIA_URL: z
      .string()
      .trim()
      .regex(/^\/([A-Za-z0-9._-]+\/)+$/, 'expected a path like /media/ (leading and trailing slash)')
      .default('/media/'),
    DOWNLOAD_SERVE_FROM: z.enum(['APP', 'LOCAL', 'REMOTE']).default('APP'),
    DOWNLOAD_INTERNAL_REDIRECT_HEADER: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9-]+$/, 'expected a header name')
      .default('X-Accel-Redirect'),
    DOWNLOAD_REMOTE_BASE_URL: httpUrl.optional(),
    TOKEN_MAX_DOWNLOADS: int(-1_000_000, 1_000_000).default(1),
    TOKEN_VALIDITY_DAYS: int(-100_000, 100_000).default(-1),
    TOKEN_BYPASS_ROLES: list.pipe(z.array(z.enum(ROLES))).default(['admin']),
    TOKEN_RESUME_GRACE: duration.default(24 * 3_600_000),
    TOKEN_FAILURE_LIMIT: int(1, 100_000).default(20),
    TOKEN_FAILURE_WINDOW: duration.default(60_000),
    TRUST_PROXY: z.string().trim().default('loopback'),
    SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    UPLOAD_MAX_BYTES: byteSize.default(2 * 1024 ** 3),
    LABEL_ONE_MAX_CLASSES: list.default(['Type']),
    DEPRECATED_LABEL: z
      .string()
      .trim()
      .regex(/^[^:,]+:[^:,]+$/, 'expected a label like Other:Deprecated')
      .default('Other:Deprecated'),
    LABEL_MAX_PER_DOWNLOAD: int(1, 100).default(6),
    ARCHIVE_MAX_ENTRIES: int(1, 1_000_000).default(10_000),
    ARCHIVE_MAX_ENTRY_BYTES: byteSize.default(2 * 1024 ** 3),
    ARCHIVE_MAX_TOTAL_BYTES: byteSize.default(4 * 1024 ** 3),
    /** Uncompressed ÷ compressed size above which an entry is taken for a ZIP bomb. */
    ARCHIVE_MAX_RATIO: int(1, 100_000).default(100),
    ARCHIVE_MANIFEST_MAX_BYTES: byteSize.default(256 * 1024),
    /** Lower-case extensions a manifest may import; empty allows every extension. */
    ARCHIVE_ALLOWED_EXTENSIONS: list.default([]),
    LOGIN_MAX_FAILURES: int(1, 1000).default(5),
    LOGIN_WINDOW: duration.default(15 * 60_000),
    SESSION_MAX_AGE: duration.default(12 * 3_600_000),
    /** N of scrypt (a power of two). The default is OWASP's 2^17; tests lower it for speed. */
    PASSWORD_SCRYPT_N: int(1024, 2 ** 20)
      .refine((n) => (n & (n - 1)) === 0, 'must be a power of two')
      .default(2 ** 17),
    SHUTDOWN_GRACE: duration.default(10_000),
    // Generated downloads (src/generators/).
    IMAGE_MAX_PIXELS: int(1, 268_402_689).default(40_000_000),
    RENDER_TIMEOUT: duration.pipe(z.number().min(1000, 'must be at least 1s')).default(10_000),
    RENDER_CONCURRENCY: int(1, 64).default(2),
    RENDER_RATE_LIMIT: int(0, 1_000_000).default(30),
    DOWNLOAD_TMP_TTL: duration.pipe(z.number().min(60_000, 'must be at least 1m')).default(24 * 3_600_000),
    DOWNLOAD_TMP_QUOTA: byteSize.default(1024 ** 3),
    DOWNLOAD_TMP_SWEEP_INTERVAL: duration.default(10 * 60_000),
    /** Raw download events older than this are pruned; counters and rollups stay. */
    EVENT_RETENTION_DAYS: int(2, 36_500).default(90),
    WEBHOOK_MAX_ATTEMPTS: int(1, 100).default(10),
    WEBHOOK_RETRY_BASE: duration.default(30_000),
    WEBHOOK_TIMEOUT: duration.default(10_000),
    WEBHOOK_POLL_INTERVAL: duration.default(2000),
    /** Outgoing webhooks to loopback, private and link-local addresses (SSRF); tests and intranets. */
    WEBHOOK_ALLOW_PRIVATE_TARGETS: bool.default(false),
  })
  .superRefine((env, ctx) => {
    if (env.DOWNLOAD_SERVE_FROM === 'REMOTE' && !env.DOWNLOAD_REMOTE_BASE_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['DOWNLOAD_REMOTE_BASE_URL'],
        message: 'is required when DOWNLOAD_SERVE_FROM=REMOTE',
      });
    }
  });

/** Every environment variable the app reads. */
export const settingNames: readonly string[] = Object.keys(envSchema.shape);

export type DatabaseKind = 'sqlite' | 'postgresql';

function toConfig(env: z.infer<typeof envSchema>) {
  const database = resolveDatabase(env.DATABASE_URL);
  return {
    env: env.NODE_ENV,
    server: {
      port: env.PORT,
      host: env.HOST,
      baseUrl: env.PUBLIC_URL?.replace(/\/+$/, ''),
      trustProxy: parseTrustProxy(env.TRUST_PROXY),
      shutdownGraceMs: env.SHUTDOWN_GRACE,
    },
    database: { ...database, poolMax: env.DATABASE_POOL_MAX },
    media: {
      root: path.resolve(PROJECT_ROOT, env.MEDIA_ROOT),
      url: env.MEDIA_URL,
    },
    serving: {
      mode: env.DOWNLOAD_SERVE_FROM,
      internalRedirectHeader: env.DOWNLOAD_INTERNAL_REDIRECT_HEADER,
      remoteBaseUrl: env.DOWNLOAD_REMOTE_BASE_URL?.replace(/\/+$/, ''),
    },
    tokens: {
      maxDownloads: env.TOKEN_MAX_DOWNLOADS,
      validityDays: env.TOKEN_VALIDITY_DAYS,
      bypassRoles: env.TOKEN_BYPASS_ROLES as Role[],
      resumeGraceMs: env.TOKEN_RESUME_GRACE,
      failureLimit: env.TOKEN_FAILURE_LIMIT,
      failureWindowMs: env.TOKEN_FAILURE_WINDOW,
    },
    uploads: {
      maxBytes: env.UPLOAD_MAX_BYTES,
    },
    archives: {
      limits: {
        maxEntries: env.ARCHIVE_MAX_ENTRIES,
        maxEntryBytes: env.ARCHIVE_MAX_ENTRY_BYTES,
        maxTotalBytes: env.ARCHIVE_MAX_TOTAL_BYTES,
        maxRatio: env.ARCHIVE_MAX_RATIO,
        maxManifestBytes: env.ARCHIVE_MANIFEST_MAX_BYTES,
      },
      allowedExtensions: env.ARCHIVE_ALLOWED_EXTENSIONS.map((e) => e.replace(/^\./, '').toLowerCase()),
    },
    labels: {
      maxPerDownload: env.LABEL_MAX_PER_DOWNLOAD,
      oneMaxClasses: env.LABEL_ONE_MAX_CLASSES,
      deprecated: {
        class: env.DEPRECATED_LABEL.split(':')[0]!.trim(),
        name: env.DEPRECATED_LABEL.split(':')[1]!.trim(),
      },
    },
    auth: {
      sessionSecret: env.SESSION_SECRET,
      sessionMaxAgeMs: env.SESSION_MAX_AGE,
      loginMaxFailures: env.LOGIN_MAX_FAILURES,
      loginWindowMs: env.LOGIN_WINDOW,
      scryptN: env.PASSWORD_SCRYPT_N,
    },
    webhooks: {
      secret: env.WEBHOOK_SECRET,
      maxAttempts: env.WEBHOOK_MAX_ATTEMPTS,
      retryBaseMs: env.WEBHOOK_RETRY_BASE,
      timeoutMs: env.WEBHOOK_TIMEOUT,
      pollIntervalMs: env.WEBHOOK_POLL_INTERVAL,
      allowPrivateTargets: env.WEBHOOK_ALLOW_PRIVATE_TARGETS,
    },
    analytics: {
      retentionDays: env.EVENT_RETENTION_DAYS,
    },
    log: {
      level: env.LOG_LEVEL,
    },
    generated: {
      /** MEDIA_ROOT/downloads/tmp: inside the nginx internal location, outside any storage key. */
      dir: path.join(path.resolve(PROJECT_ROOT, env.MEDIA_ROOT), 'downloads', 'tmp'),
      maxPixels: env.IMAGE_MAX_PIXELS,
      renderTimeoutMs: env.RENDER_TIMEOUT,
      renderConcurrency: env.RENDER_CONCURRENCY,
      /** cache misses per client per minute; 0 = no limit */
      renderRateLimit: env.RENDER_RATE_LIMIT,
      ttlMs: env.DOWNLOAD_TMP_TTL,
      /** 0 = no quota */
      quotaBytes: env.DOWNLOAD_TMP_QUOTA === 0 ? Infinity : env.DOWNLOAD_TMP_QUOTA,
      /** 0 = no periodic sweep in the server (use `npm run cli -- cleanup` from cron) */
      sweepIntervalMs: env.DOWNLOAD_TMP_SWEEP_INTERVAL,
    },
  };
}

export type Config = ReturnType<typeof toConfig>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates the environment; throws ConfigError listing every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const known = Object.fromEntries(
    settingNames.map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  const parsed = envSchema.safeParse(known);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = issue.path.join('.') || 'environment';
      const value = typeof issue.path[0] === 'string' ? known[issue.path[0]] : undefined;
      const shown = value === undefined || /SECRET/.test(name) ? '' : ` (got ${JSON.stringify(value)})`;
      return `${name}: ${issue.message}${shown}`;
    });
    throw new ConfigError(problems);
  }
  return deepFreeze(toConfig(parsed.data));
}

/** Chooses the driver from the URL; relative SQLite paths are resolved against the project. */
export function resolveDatabase(url: string): { kind: DatabaseKind; url: string; file?: string } {
  if (url.startsWith('file:')) {
    const raw = url.slice('file:'.length).split('?')[0]!;
    const file = raw === ':memory:' ? raw : path.resolve(PROJECT_ROOT, raw);
    return { kind: 'sqlite', url: `file:${file}`, file };
  }
  return { kind: 'postgresql', url };
}

function parseTrustProxy(value: string): boolean | number | string {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
