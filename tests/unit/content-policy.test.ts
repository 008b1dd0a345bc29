import { describe, expect, test } from 'vitest';
import { agentClass, referrerHost, truncateIp } from '../../src/serving/client-info.ts';
import { attachmentHeader, inertContentType } from '../../src/serving/content-policy.ts';

describe('Content-Disposition of served files', () => {
  test.each([
    ['report.pdf', 'attachment; filename="report.pdf"'],
    ['a b.zip', 'attachment; filename="a b.zip"'],
    ['snow ☃ café.txt', `attachment; filename="snow ? caf?.txt"; filename*=UTF-8''snow%20%E2%98%83%20caf%C3%A9.txt`],
    ['日本語.zip', `attachment; filename="???.zip"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.zip`],
    ['x\r\nSet-Cookie: a=b.pdf', 'attachment; filename="x Set-Cookie a=b.pdf"'],
    ['a"b;c.pdf', 'attachment; filename="ab;c.pdf"'],
    ['../../etc/passwd', 'attachment; filename="passwd"'],
    ['C:\\Windows\\evil.exe', 'attachment; filename="evil.exe"'],
    ['report\u202Etxt.exe', 'attachment; filename="reporttxt.exe"'],
    ['', 'attachment; filename="download"'],
  ])('%j → %s', (name, header) => {
    const value = attachmentHeader(name, 'download');
    expect(value.replace(/filename=([^";]+)(;|$)/, 'filename="$1"$2')).toBe(header);
    expect(value).not.toMatch(/[\r\n]/);
  });
});

describe('types served inert', () => {
  test.each([
    ['text/html', 'application/octet-stream'],
    ['text/html; charset=utf-8', 'application/octet-stream'],
    ['image/svg+xml', 'application/octet-stream'],
    ['application/javascript', 'application/octet-stream'],
    ['text/javascript', 'application/octet-stream'],
    ['application/xml', 'application/octet-stream'],
    ['text/xml', 'application/octet-stream'],
    ['application/xhtml+xml', 'application/octet-stream'],
    ['application/pdf', 'application/pdf'],
    ['application/zip', 'application/zip'],
    ['image/png', 'image/png'],
    ['text/plain', 'text/plain'],
    [null, 'application/octet-stream'],
    ['not a type', 'application/octet-stream'],
    ['text/plain\r\nX: y', 'application/octet-stream'],
  ])('%s → %s', (type, expected) => {
    expect(inertContentType(type)).toBe(expected);
  });
});

describe('what an event keeps of the client', () => {
  test.each([
    ['203.0.113.77', '203.0.113.0'],
    ['::ffff:198.51.100.9', '198.51.100.0'],
    ['2001:db8:abcd:12:1:2:3:4', '2001:db8:abcd::'],
    ['2001:db8::1', '2001:db8:0::'],
    ['::1', '0:0:0::'],
    [undefined, null],
    ['garbage', null],
  ])('address %s is stored as %s', (ip, expected) => {
    expect(truncateIp(ip)).toBe(expected);
  });

  test('user agents are classified', () => {
    expect(agentClass('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120 Safari/537.36')).toBe('human');
    expect(agentClass('Googlebot/2.1 (+http://www.google.com/bot.html)')).toBe('bot');
    expect(agentClass('curl/8.5.0')).toBe('bot');
    expect(agentClass(undefined)).toBe('unknown');
  });

  test('only the host of an http(s) referrer is kept', () => {
    expect(referrerHost('https://Example.COM/some/page?q=1')).toBe('example.com');
    expect(referrerHost('android-app://com.x')).toBeNull();
    expect(referrerHost('not a url')).toBeNull();
  });
});
