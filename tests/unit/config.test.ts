import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, PROJECT_ROOT, loadConfig } from '../../src/config.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

describe('configuration', () => {
  test('an empty environment gives the defaults of the contract', () => {
    const config = loadConfig({});
    expect(config.server.port).toBe(3000);
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.database).toEqual({
      kind: 'sqlite',
      url: `file:${path.join(PROJECT_ROOT, 'data', 'downloads.db')}`,
      poolMax: 10,
      file: path.join(PROJECT_ROOT, 'data', 'downloads.db'),
    });
    expect(config.media).toEqual({ root: path.join(PROJECT_ROOT, 'media'), url: '/media/' });
    expect(config.serving).toEqual({ mode: 'APP', internalRedirectHeader: 'X-Accel-Redirect', remoteBaseUrl: undefined });
    expect(config.tokens).toEqual({
      maxDownloads: 1,
      validityDays: -1,
      bypassRoles: ['admin'],
      resumeGraceMs: 24 * 3_600_000,
      failureLimit: 20,
      failureWindowMs: 60_000,
    });
    expect(config.server.trustProxy).toBe('loopback');
    expect(config.auth.sessionSecret).toBeUndefined();
    expect(config.webhooks.secret).toBeUndefined();
  });

  test('every problem is reported at once, each naming its variable', () => {
    const problems = problemsOf({ PORT: 'abc', DATABASE_URL: 'mysql://x', DOWNLOAD_SERVE_FROM: 'FTP' });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^PORT: expected a whole number \(got "abc"\)/);
    expect(problems.join('\n')).toMatch(/DATABASE_URL: expected a file: URL \(SQLite\) or a postgresql:\/\/ URL/);
    expect(problems.join('\n')).toMatch(/DOWNLOAD_SERVE_FROM/);
  });

  test('REMOTE serving needs a base URL, and only an http(s) one', () => {
    expect(problemsOf({ DOWNLOAD_SERVE_FROM: 'REMOTE' })).toEqual([
      'DOWNLOAD_REMOTE_BASE_URL: is required when DOWNLOAD_SERVE_FROM=REMOTE',
    ]);
    expect(problemsOf({ DOWNLOAD_SERVE_FROM: 'REMOTE', DOWNLOAD_REMOTE_BASE_URL: 'javascript:alert(1)' })[0]).toMatch(
      /DOWNLOAD_REMOTE_BASE_URL: expected an http\(s\) URL/,
    );
    const config = loadConfig({ DOWNLOAD_SERVE_FROM: 'REMOTE', DOWNLOAD_REMOTE_BASE_URL: 'https://cdn.example.com/files/' });
    expect(config.serving.remoteBaseUrl).toBe('https://cdn.example.com/files');
  });

  test('PostgreSQL URLs select the PostgreSQL driver', () => {
    expect(loadConfig({ DATABASE_URL: 'postgresql://u:p@db:5432/downloads' }).database.kind).toBe('postgresql');
    expect(loadConfig({ DATABASE_URL: 'postgres://u:p@db/downloads' }).database.kind).toBe('postgresql');
  });

  test('lists, numbers and sizes are parsed; wrong values are named', () => {
    const config = loadConfig({ TOKEN_BYPASS_ROLES: 'admin, editor', TOKEN_MAX_DOWNLOADS: '0', UPLOAD_MAX_BYTES: '500M' });
    expect(config.tokens.bypassRoles).toEqual(['admin', 'editor']);
    expect(config.tokens.maxDownloads).toBe(0);
    expect(config.uploads.maxBytes).toBe(500 * 1024 * 1024);
    expect(problemsOf({ TOKEN_BYPASS_ROLES: 'admin,root' })[0]).toMatch(/^TOKEN_BYPASS_ROLES/);
    expect(problemsOf({ MEDIA_URL: 'media' })[0]).toMatch(/^MEDIA_URL: expected a path like \/media\//);
  });

  test('secrets are never echoed in error messages', () => {
    const [problem] = problemsOf({ SESSION_SECRET: 'short' });
    expect(problem).toBe('SESSION_SECRET: must be at least 32 characters');
  });

  test('generated downloads: limits, cache lifetime, quota and sweep interval', () => {
    expect(loadConfig({}).generated).toEqual({
      dir: path.join(PROJECT_ROOT, 'media', 'downloads', 'tmp'),
      maxPixels: 40_000_000,
      renderTimeoutMs: 10_000,
      renderConcurrency: 2,
      renderRateLimit: 30,
      ttlMs: 24 * 3_600_000,
      quotaBytes: 1024 ** 3,
      sweepIntervalMs: 10 * 60_000,
    });
    const config = loadConfig({ MEDIA_ROOT: '/srv/media', DOWNLOAD_TMP_QUOTA: '0', RENDER_RATE_LIMIT: '0', DOWNLOAD_TMP_TTL: '2h' });
    expect(config.generated).toMatchObject({ dir: '/srv/media/downloads/tmp', quotaBytes: Infinity, renderRateLimit: 0, ttlMs: 7_200_000 });
    const problems = problemsOf({ RENDER_TIMEOUT: '0', DOWNLOAD_TMP_TTL: '5s', RENDER_CONCURRENCY: '0', IMAGE_MAX_PIXELS: 'many' });
    expect(problems.map((p) => p.split(':')[0])).toEqual(['IMAGE_MAX_PIXELS', 'RENDER_TIMEOUT', 'RENDER_CONCURRENCY', 'DOWNLOAD_TMP_TTL']);
  });

  test('analytics and webhook settings have their documented defaults and bounds', () => {
    const config = loadConfig({});
    expect(config.analytics).toEqual({ retentionDays: 90 });
    expect(config.webhooks).toEqual({
      secret: undefined,
      maxAttempts: 10,
      retryBaseMs: 30_000,
      timeoutMs: 10_000,
      pollIntervalMs: 2000,
      allowPrivateTargets: false,
    });
    expect(loadConfig({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'yes', WEBHOOK_RETRY_BASE: '250ms' }).webhooks).toMatchObject({ allowPrivateTargets: true, retryBaseMs: 250 });
    // Fewer than two days would forget repeated webhook deliveries inside their 24-hour window.
    expect(problemsOf({ EVENT_RETENTION_DAYS: '1' })[0]).toMatch(/^EVENT_RETENTION_DAYS/);
    expect(problemsOf({ WEBHOOK_MAX_ATTEMPTS: '0', WEBHOOK_SECRET: 'short' })).toEqual([
      expect.stringMatching(/^WEBHOOK_SECRET: must be at least 16 characters$/),
      expect.stringMatching(/^WEBHOOK_MAX_ATTEMPTS/),
    ]);
  });

  test('the configuration is frozen', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config.server)).toBe(true);
  });
});
