import { describe, expect, test } from 'vitest';
import { redactUrl } from '../../src/log.ts';

describe('URLs in logs', () => {
  test.each([
    ['/downloads/a/file?token=dlt_secret', '/downloads/a/file?token=[redacted]'],
    ['/downloads/a/file?download-token=abc&x=1', '/downloads/a/file?download-token=[redacted]&x=1'],
    ['/callback?secret=s3cret', '/callback?secret=[redacted]'],
    ['/admin/downloads?_csrf=tok&page=2', '/admin/downloads?_csrf=[redacted]&page=2'],
    ['/downloads?q=token', '/downloads?q=token'],
    ['/plain', '/plain'],
  ])('%s is logged as %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});
