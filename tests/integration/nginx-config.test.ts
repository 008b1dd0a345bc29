/**
 * The shipped nginx site configuration (nginx/downloads.conf.template), run in a real nginx in
 * front of a stub upstream that answers downloads the way the app does in LOCAL mode: an empty
 * 200 with X-Accel-Redirect to an opaque key under MEDIA_URL and the download event id in
 * X-Download-Event.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NginxConfigError, renderNginxConfig, type NginxConfigOptions } from '../../scripts/nginx-config.ts';
import { PROJECT_ROOT } from '../../src/config.ts';
import { TEST_TMP, nginxBinary, skipWithout } from '../helpers/env.ts';
import { startNginx, type RunningNginx } from '../helpers/nginx.ts';

const MiB = 1024 * 1024;
const MAX_BODY_BYTES = 64 * 1024; // small, so the 413 test sends little
const CONTENT_DISPOSITION = `attachment; filename="a b.bin"; filename*=UTF-8''%E2%98%83.bin`;
const CACHE_CONTROL = 'no-cache, no-store, must-revalidate';
const CONTENT_TYPE = 'application/x-test-payload';

function installed(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0;
}

/**
 * Runs a real client without blocking the event loop: the stub upstream lives in this process
 * and must keep answering while the client downloads.
 */
async function run(command: string, args: string[]): Promise<void> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`);
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const opaqueKey = () => randomBytes(16).toString('hex');

// ---------------------------------------------------------------------------------------------
// The stub upstream: the app's LOCAL serving behaviour, nothing else.

interface IssuedEvent {
  slug: string;
  event: string;
  method: string;
  requestId: string;
}

interface Stub {
  address: string;
  issued: IssuedEvent[];
  uploads: { bytes: number }[];
  sockets: Set<Socket>;
  close(): Promise<void>;
}

/** slug → X-Accel-Redirect target (a path under MEDIA_URL, possibly hostile). */
type Redirects = Record<string, string>;

async function startStub(redirects: Redirects): Promise<Stub> {
  const stub: Omit<Stub, 'address' | 'close'> = { issued: [], uploads: [], sockets: new Set() };
  const server = http.createServer((req, res) => {
    stub.sockets.add(req.socket);
    const url = new URL(req.url ?? '/', 'http://stub');
    const download = /^\/downloads\/([^/]+)\/file$/.exec(url.pathname);

    if (download && (req.method === 'GET' || req.method === 'HEAD') && redirects[download[1]!]) {
      const event = randomUUID();
      stub.issued.push({ slug: download[1]!, event, method: req.method, requestId: String(req.headers['x-request-id']) });
      res.writeHead(200, {
        'X-Accel-Redirect': redirects[download[1]!]!,
        'X-Download-Event': event,
        'Content-Type': CONTENT_TYPE,
        'Content-Disposition': CONTENT_DISPOSITION,
        'Cache-Control': CACHE_CONTROL,
        // What the app sends on its own pages; none of it may reach a served file.
        'Content-Security-Policy': "default-src 'self'",
        'X-Powered-By': 'Express',
        'X-Internal-Secret': 'must-not-leak',
        'Content-Length': '0',
      });
      res.end();
      return;
    }
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'X-Download-Event': 'not-a-download' });
      res.end(JSON.stringify({ status: 'ok' }));
      return;
    }
    if (url.pathname === '/echo') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ headers: req.headers, url: req.url }));
      return;
    }
    if (url.pathname === '/upload' && req.method === 'POST') {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      req.on('end', () => {
        stub.uploads.push({ bytes });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ bytes }));
      });
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'NOT_FOUND' } }));
  });
  // As in src/main.ts: longer than nginx's upstream keepalive_timeout.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    ...stub,
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A client that sends paths exactly as written (fetch would normalise /media/../ away).

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function request(
  baseUrl: string,
  method: string,
  pathAndQuery: string,
  headers: Record<string, string> = {},
  body?: Buffer | Buffer[],
): Promise<Answer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path: pathAndQuery, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (Array.isArray(body)) {
      // Chunked: no Content-Length, so nginx only finds out the size while reading.
      for (const part of body) req.write(part);
      req.end();
    } else {
      req.end(body);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The access log, in the format documented in nginx/README.md.

interface AccessLogEntry {
  time: string;
  msec: string;
  request_id: string;
  remote_addr: string;
  method: string;
  path: string;
  status: string;
  body_bytes_sent: string;
  request_completion: string;
  content_range: string;
  request_time: string;
  event: string;
  upstream_status: string;
  upstream_response_time: string;
  user_agent: string;
}

function accessLog(nginx: RunningNginx): AccessLogEntry[] {
  return fs
    .readFileSync(nginx.accessLogPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AccessLogEntry);
}

/** nginx writes the line after the last byte is sent, so a client can be a moment ahead. */
async function logEntries(nginx: RunningNginx, match: (e: AccessLogEntry) => boolean, count = 1): Promise<AccessLogEntry[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const found = accessLog(nginx).filter(match);
    if (found.length >= count || Date.now() > deadline) return found;
    await sleep(20);
  }
}

async function logEntry(nginx: RunningNginx, match: (e: AccessLogEntry) => boolean): Promise<AccessLogEntry> {
  const [entry] = await logEntries(nginx, match);
  if (!entry) throw new Error(`no access log line matched; the log holds:\n${fs.readFileSync(nginx.accessLogPath, 'utf8')}`);
  return entry;
}

// ---------------------------------------------------------------------------------------------

describe('rendering the site configuration', () => {
  const valid: NginxConfigOptions = {
    listen: '127.0.0.1:8080',
    upstreams: ['127.0.0.1:3000', '10.0.0.2:3000'],
    mediaUrl: '/files/',
    mediaRoot: '/srv/downloads/media',
    maxBodyBytes: 1_048_576,
    accessLog: '/var/log/nginx/downloads.access.log',
  };

  test('every placeholder is filled from the options', () => {
    const conf = renderNginxConfig(valid);
    expect(conf).not.toMatch(/\{\{|\}\}/);
    expect(conf).toContain('listen 127.0.0.1:8080;');
    expect(conf).toContain('server 127.0.0.1:3000;\n    server 10.0.0.2:3000;');
    expect(conf).toContain('location ^~ /files/ {');
    expect(conf).toContain('alias /srv/downloads/media/;');
    expect(conf).toContain('client_max_body_size 1048576;');
    expect(conf).toContain('access_log /var/log/nginx/downloads.access.log downloads_json;');
    expect(conf).toContain('server_name _;');
  });

  test('a trailing slash on MEDIA_ROOT does not double the alias slash', () => {
    expect(renderNginxConfig({ ...valid, mediaRoot: '/srv/media/' })).toContain('alias /srv/media/;');
  });

  test.each<[string, Partial<NginxConfigOptions>]>([
    ['a semicolon in listen', { listen: '8080; include /etc/passwd' }],
    ['a newline in an upstream', { upstreams: ['127.0.0.1:3000;\n    server evil:80'] }],
    ['no upstream', { upstreams: [] }],
    ['an upstream without a port', { upstreams: ['localhost'] }],
    ['a brace in MEDIA_ROOT', { mediaRoot: '/srv/media }' }],
    ['a space in MEDIA_ROOT', { mediaRoot: '/srv/my media' }],
    ['a relative MEDIA_ROOT', { mediaRoot: 'media' }],
    ['MEDIA_ROOT at /', { mediaRoot: '/' }],
    ['a MEDIA_URL without trailing slash', { mediaUrl: '/media' }],
    ['a MEDIA_URL with a dot-dot segment', { mediaUrl: '/media/../' }],
    ['a zero body size (nginx: unlimited)', { maxBodyBytes: 0 }],
    ['a fractional body size', { maxBodyBytes: 1.5 }],
    ['a variable in the access log path', { accessLog: '/var/log/$host.log' }],
    ['a port out of range', { listen: '70000' }],
    ['a server name with a space', { serverName: 'a b' }],
  ])('refuses %s', (_what, override) => {
    expect(() => renderNginxConfig({ ...valid, ...override })).toThrow(NginxConfigError);
  });

  test("the CLI takes MEDIA_ROOT, MEDIA_URL and UPLOAD_MAX_BYTES from the app's settings", () => {
    const env = { ...process.env, MEDIA_ROOT: '/srv/dl', MEDIA_URL: '/protected/', UPLOAD_MAX_BYTES: '10M' };
    const cli = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'scripts', 'nginx-config.ts'), ...args], {
        cwd: PROJECT_ROOT,
        env,
        encoding: 'utf8',
      });
    const ok = cli(['--listen', '8080', '--upstream', '127.0.0.1:3001', '--upstream', '127.0.0.1:3002']);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('alias /srv/dl/;');
    expect(ok.stdout).toContain('location ^~ /protected/ {');
    // UPLOAD_MAX_BYTES limits one file; the body also carries the multipart envelope (bodyLimitFor).
    expect(ok.stdout).toContain(`client_max_body_size ${10485760 + 64 * 1024 * 1024};`);
    expect(ok.stdout).toContain('server 127.0.0.1:3002;');

    expect(cli(['--listen', '80;']).status).toBe(1);
    expect(cli(['--no-such-option']).status).toBe(2);
  });
});

describe.skipIf(skipWithout(nginxBinary))('nginx in front of the app (DOWNLOAD_SERVE_FROM=LOCAL)', () => {
  let mediaRoot: string;
  let stub: Stub;
  let nginx: RunningNginx;
  let workDir: string;
  const file = { key: opaqueKey(), data: Buffer.alloc(0), sha256: '' };
  const largeKey = opaqueKey(); // 64 MiB, sparse: more than socket buffers hold
  const LARGE_SIZE = 64 * MiB;

  beforeAll(async () => {
    fs.mkdirSync(TEST_TMP, { recursive: true });
    mediaRoot = fs.mkdtempSync(path.join(TEST_TMP, 'nginx-media-'));
    workDir = fs.mkdtempSync(path.join(TEST_TMP, 'nginx-clients-'));
    const downloads = path.join(mediaRoot, 'downloads');
    fs.mkdirSync(path.join(downloads, 'tmp'), { recursive: true });

    file.data = randomBytes(10 * MiB);
    file.sha256 = sha256(file.data);
    fs.writeFileSync(path.join(downloads, file.key), file.data);
    fs.writeFileSync(path.join(downloads, largeKey), '');
    fs.truncateSync(path.join(downloads, largeKey), LARGE_SIZE);
    // A symlink planted under MEDIA_ROOT (it must never lead outside).
    const linkKey = opaqueKey();
    fs.symlinkSync('/etc/passwd', path.join(downloads, linkKey));

    stub = await startStub({
      file: `/media/downloads/${file.key}`,
      large: `/media/downloads/${largeKey}`,
      'with-query': `/media/downloads/${file.key}?event=${randomUUID()}&x=1`,
      missing: `/media/downloads/${opaqueKey()}`,
      'dot-dot': '/media/../../etc/passwd',
      'encoded-dot-dot': '/media/%2e%2e/%2e%2e/etc/passwd',
      'encoded-slash': '/media/downloads/..%2f..%2f..%2fetc%2fpasswd',
      'encoded-nul': `/media/downloads/${file.key}%00.txt`,
      symlink: `/media/downloads/${linkKey}`,
    });
    nginx = await startNginx({ upstreams: [stub.address], mediaRoot, maxBodyBytes: MAX_BODY_BYTES });
  });

  afterAll(async () => {
    await nginx?.stop();
    await stub?.close();
    for (const dir of [mediaRoot, workDir, nginx?.dir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const get = (p: string, headers?: Record<string, string>) => request(nginx.url, 'GET', p, headers);
  const lastEvent = (slug: string) => stub.issued.filter((e) => e.slug === slug).at(-1)!;

  describe('a download is sent by nginx from the internal location', () => {
    test('GET delivers the stored bytes unchanged (10 MiB, same sha256)', async () => {
      const res = await get('/downloads/file/file');
      expect(res.status).toBe(200);
      expect(res.headers['content-length']).toBe(String(file.data.length));
      expect(res.headers['accept-ranges']).toBe('bytes');
      expect(sha256(res.body)).toBe(file.sha256);
    });

    test('HEAD answers the same headers and no body', async () => {
      const res = await request(nginx.url, 'HEAD', '/downloads/file/file');
      expect(res.status).toBe(200);
      expect(res.headers['content-length']).toBe(String(file.data.length));
      expect(res.headers['content-disposition']).toBe(CONTENT_DISPOSITION);
      expect(res.body.length).toBe(0);
      expect(lastEvent('file').method).toBe('HEAD'); // nginx kept HEAD for the app to see
    });

    test('Content-Type, Content-Disposition and Cache-Control arrive exactly as the app sent them', async () => {
      const res = await get('/downloads/file/file');
      expect(res.headers['content-type']).toBe(CONTENT_TYPE);
      expect(res.headers['content-disposition']).toBe(CONTENT_DISPOSITION);
      expect(res.headers['cache-control']).toBe(CACHE_CONTROL);
    });

    test('the internal location adds the served-file security headers', async () => {
      const res = await get('/downloads/file/file');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toBe("default-src 'none'; sandbox");
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['cross-origin-resource-policy']).toBe('same-origin');
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    });

    test("the app's other headers stay behind: its page CSP, X-Powered-By, internal plumbing", async () => {
      const res = await get('/downloads/file/file');
      expect(res.headers['x-internal-secret']).toBeUndefined();
      expect(res.headers['x-powered-by']).toBeUndefined();
      expect(res.headers['x-download-event']).toBeUndefined();
      expect(res.headers['x-accel-redirect']).toBeUndefined();
      expect(res.headers['server']).toBe('nginx'); // server_tokens off: no version
    });

    test('the security headers are on error answers of the internal location too', async () => {
      const res = await get('/downloads/missing/file');
      expect(res.status).toBe(404);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toBe("default-src 'none'; sandbox");
    });

    test('a conditional GET still gets the whole file: nginx never answers 304 to a download the app counted', async () => {
      const { headers } = await request(nginx.url, 'HEAD', '/downloads/file/file');
      expect(headers.etag).toBeUndefined();
      const res = await get('/downloads/file/file', {
        'If-Modified-Since': headers['last-modified']!,
        'If-None-Match': '"anything"',
      });
      expect(res.status).toBe(200);
      expect(res.body.length).toBe(file.data.length);
    });

    test('a query string on the X-Accel-Redirect URI is split off: the file is still served', async () => {
      const res = await get('/downloads/with-query/file');
      expect(res.status).toBe(200);
      expect(sha256(res.body)).toBe(file.sha256);
    });

    test('ordinary pages are proxied unchanged, without the internal event header', async () => {
      const res = await get('/healthz');
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body.toString())).toEqual({ status: 'ok' });
      expect(res.headers['x-download-event']).toBeUndefined();
      expect(res.headers['content-security-policy']).toBeUndefined(); // nginx adds none of its own here
    });
  });

  describe('Range requests are answered by nginx', () => {
    test('bytes=100-199 → 206 with exactly those bytes and their Content-Range', async () => {
      const res = await get('/downloads/file/file', { Range: 'bytes=100-199' });
      expect(res.status).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes 100-199/${file.data.length}`);
      expect(res.body.equals(file.data.subarray(100, 200))).toBe(true);
      expect(res.headers['content-disposition']).toBe(CONTENT_DISPOSITION);
    });

    test('bytes=-100 → the last 100 bytes', async () => {
      const res = await get('/downloads/file/file', { Range: 'bytes=-100' });
      const size = file.data.length;
      expect(res.status).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes ${size - 100}-${size - 1}/${size}`);
      expect(res.body.equals(file.data.subarray(size - 100))).toBe(true);
    });

    test('a range past the end → 416 with the size in Content-Range', async () => {
      const res = await get('/downloads/file/file', { Range: `bytes=${file.data.length}-` });
      expect(res.status).toBe(416);
      expect(res.headers['content-range']).toBe(`bytes */${file.data.length}`);
    });

    test('If-Range with the Last-Modified date resumes; with another date, the whole file comes back', async () => {
      const { headers } = await request(nginx.url, 'HEAD', '/downloads/file/file');
      expect(headers['last-modified']).toBeDefined();
      const resumed = await get('/downloads/file/file', { Range: 'bytes=10-19', 'If-Range': headers['last-modified']! });
      expect(resumed.status).toBe(206);
      const changed = await get('/downloads/file/file', { Range: 'bytes=10-19', 'If-Range': 'Mon, 01 Jan 2001 00:00:00 GMT' });
      expect(changed.status).toBe(200);
      expect(changed.body.length).toBe(file.data.length);
    });

    test('several ranges are not served as multipart (max_ranges 1): the whole file, 200', async () => {
      const res = await get('/downloads/file/file', { Range: 'bytes=0-9,100-109' });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe(CONTENT_TYPE);
      expect(sha256(res.body)).toBe(file.sha256);
    });
  });

  describe('resuming and parallel downloads with real clients', () => {
    const partialThenResume = async (name: string, command: string, args: (out: string, url: string) => string[]) => {
      const out = path.join(workDir, `${name}.bin`);
      const already = 3 * MiB + 17;
      fs.writeFileSync(out, file.data.subarray(0, already));
      await run(command, args(out, `${nginx.url}/downloads/file/file`));
      expect(sha256(fs.readFileSync(out))).toBe(file.sha256);
      // It really resumed: nginx sent only the rest, as a 206.
      const entry = await logEntry(nginx, (e) => e.event === lastEvent('file').event);
      expect(entry.status).toBe('206');
      expect(entry.content_range).toBe(`bytes ${already}-${file.data.length - 1}/${file.data.length}`);
      expect(Number(entry.body_bytes_sent)).toBe(file.data.length - already);
    };

    test.skipIf(skipWithout(installed('curl')))('curl -C - completes a partial file to the identical file', async () => {
      await partialThenResume('curl', 'curl', (out, url) => ['-sS', '-f', '-C', '-', '-o', out, url]);
    });

    test.skipIf(skipWithout(installed('wget')))('wget -c completes a partial file to the identical file', async () => {
      await partialThenResume('wget', 'wget', (out, url) => ['-q', '-c', '-O', out, url]);
    });

    test.skipIf(skipWithout(installed('aria2c')))('aria2c with four Range connections assembles the identical file', async () => {
      const before = stub.issued.length;
      await run('aria2c', [
        ...['-q', '-x4', '-s4', '-k1M', '--allow-overwrite=true', '--auto-file-renaming=false'],
        ...['-d', workDir, '-o', 'aria2.bin', `${nginx.url}/downloads/file/file`],
      ]);
      expect(sha256(fs.readFileSync(path.join(workDir, 'aria2.bin')))).toBe(file.sha256);

      const events = new Set(stub.issued.slice(before).map((e) => e.event));
      const ranges = (await logEntries(nginx, (e) => events.has(e.event) && e.status === '206', 2)).map((e) => e.content_range);
      expect(new Set(ranges).size).toBeGreaterThanOrEqual(2);
    });
  });

  describe('the internal location cannot be reached from outside', () => {
    test('asking for MEDIA_URL directly is 404', async () => {
      const res = await get(`/media/downloads/${file.key}`);
      expect(res.status).toBe(404);
      expect(res.body.length).toBeLessThan(1000);
    });

    // nginx resolves dot segments before choosing a location: these end outside /media/ and
    // go to the app (which has no such page) or are refused while parsing.
    test.each([
      '/media/../etc/passwd',
      '/media/..%2f..%2fetc%2fpasswd',
      '/media/downloads/../../x',
      '/media/downloads/%2e%2e/%2e%2e/etc/passwd',
      `/media/downloads/${file.key}/..`,
    ])('GET %s is 404 or 400 and serves no file', async (p) => {
      const res = await get(p);
      expect([400, 404]).toContain(res.status);
      expect(res.body.toString('latin1')).not.toContain('root:');
      expect(res.body.length).toBeLessThan(1000);
    });

    test.each([
      ['dot-dot', '/media/../../etc/passwd'],
      ['encoded-dot-dot', '/media/%2e%2e/%2e%2e/etc/passwd'],
      ['encoded-slash', '/media/downloads/..%2f..%2f..%2fetc%2fpasswd'],
      ['encoded-nul', '/media/downloads/<key>%00.txt'],
    ])('an app redirect to a hostile URI (%s: %s) is refused with 404', async (slug) => {
      const res = await get(`/downloads/${slug}/file`);
      expect(res.status).toBe(404);
      expect(res.body.toString('latin1')).not.toContain('root:');
    });

    test('a symlink under MEDIA_ROOT pointing outside is refused (disable_symlinks)', async () => {
      const res = await get('/downloads/symlink/file');
      expect(res.status).toBe(403);
      expect(res.body.toString('latin1')).not.toContain('root:');
    });
  });

  describe('request bodies and client_max_body_size', () => {
    test('an upload within the limit reaches the app whole', async () => {
      const res = await request(nginx.url, 'POST', '/upload', {}, randomBytes(MAX_BODY_BYTES));
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body.toString())).toEqual({ bytes: MAX_BODY_BYTES });
    });

    test('a larger body with Content-Length is refused by nginx with 413 before the app sees it', async () => {
      const uploadsBefore = stub.uploads.length;
      const res = await request(nginx.url, 'POST', '/upload', {}, randomBytes(MAX_BODY_BYTES + 1));
      expect(res.status).toBe(413);
      expect(stub.uploads.length).toBe(uploadsBefore);
    });

    test('a chunked body that grows past the limit is refused with 413 too', async () => {
      const res = await request(nginx.url, 'POST', '/upload', {}, [randomBytes(MAX_BODY_BYTES), randomBytes(1024)]);
      expect(res.status).toBe(413);
    });
  });

  describe('the access log (nginx/README.md) tells which download events completed', () => {
    test('a full GET: the event id, 200, every byte sent, completed', async () => {
      await get('/downloads/file/file?token=secret-token-value');
      const issued = lastEvent('file');
      const entry = await logEntry(nginx, (e) => e.event === issued.event);
      expect(entry).toMatchObject({
        event: issued.event,
        method: 'GET',
        path: '/downloads/file/file',
        status: '200',
        body_bytes_sent: String(file.data.length),
        request_completion: 'OK',
        content_range: '',
        upstream_status: '200',
        request_id: issued.requestId, // the id the app received in X-Request-Id
      });
      expect(Number(entry.request_time)).toBeGreaterThanOrEqual(0);
    });

    test('a Range request: 206, the bytes of the range and its Content-Range', async () => {
      await get('/downloads/file/file', { Range: 'bytes=1000-1999' });
      const entry = await logEntry(nginx, (e) => e.event === lastEvent('file').event);
      expect(entry).toMatchObject({
        status: '206',
        body_bytes_sent: '1000',
        request_completion: 'OK',
        content_range: `bytes 1000-1999/${file.data.length}`,
      });
    });

    test('HEAD: the event with no body bytes', async () => {
      await request(nginx.url, 'HEAD', '/downloads/file/file');
      const entry = await logEntry(nginx, (e) => e.event === lastEvent('file').event);
      expect(entry).toMatchObject({ method: 'HEAD', status: '200', body_bytes_sent: '0' });
    });

    test('a download the client abandons is logged without completion and with the bytes it got', async () => {
      await new Promise<void>((resolve, reject) => {
        const req = http.get(`${nginx.url}/downloads/large/file`, { agent: false }, (res) => {
          res.once('data', () => {
            res.destroy();
            resolve();
          });
        });
        req.on('error', (error) => ((error as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(error)));
      });
      const entry = await logEntry(nginx, (e) => e.event === lastEvent('large').event);
      expect(entry.status).toBe('200');
      expect(entry.request_completion).toBe('');
      expect(Number(entry.body_bytes_sent)).toBeLessThan(LARGE_SIZE);
    });

    test('a redirect nginx refuses still logs its event id, with 404', async () => {
      await get('/downloads/dot-dot/file');
      const entry = await logEntry(nginx, (e) => e.event === lastEvent('dot-dot').event);
      expect(entry.status).toBe('404');
    });

    test('a missing file logs its event id with 404', async () => {
      await get('/downloads/missing/file');
      const entry = await logEntry(nginx, (e) => e.event === lastEvent('missing').event);
      expect(entry.status).toBe('404');
    });

    test('a client cannot put an event id into the log', async () => {
      const forged = randomUUID();
      const agent = `forger-${randomUUID()}`;
      await get(`/echo?event=${forged}`, { 'X-Download-Event': forged, 'User-Agent': agent });
      const entry = await logEntry(nginx, (e) => e.user_agent === agent);
      expect(entry.event).toBe('');
    });

    test('query strings (access tokens) stay out of the log', async () => {
      await get('/downloads/file/file?token=secret-token-value');
      await logEntry(nginx, (e) => e.event === lastEvent('file').event);
      expect(fs.readFileSync(nginx.accessLogPath, 'utf8')).not.toContain('secret-token-value');
    });

    test('every line is one JSON object', () => {
      const lines = fs.readFileSync(nginx.accessLogPath, 'utf8').split('\n').filter(Boolean);
      expect(lines.length).toBeGreaterThan(5);
      for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    });
  });

  describe('what the app sees behind nginx', () => {
    test('X-Forwarded-For, -Proto and -Host are set by nginx, and X-Request-Id is its $request_id', async () => {
      const res = await get('/echo', {
        'X-Forwarded-For': '203.0.113.9',
        'X-Forwarded-Host': 'evil.example',
        'X-Forwarded-Proto': 'https',
        'X-Request-Id': 'chosen-by-client',
      });
      const seen = JSON.parse(res.body.toString()) as { headers: http.IncomingHttpHeaders };
      // Appended, not replaced: Express's trust proxy (loopback) takes the address nginx saw.
      expect(seen.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
      expect(seen.headers['x-forwarded-proto']).toBe('http');
      expect(seen.headers['x-forwarded-host']).toBe(`127.0.0.1:${nginx.port}`);
      expect(seen.headers.host).toBe(`127.0.0.1:${nginx.port}`);
      expect(seen.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
      const entry = await logEntry(nginx, (e) => e.request_id === seen.headers['x-request-id']);
      expect(entry.path).toBe('/echo');
    });

    test('connections to the app are kept alive and reused', async () => {
      const socketsBefore = stub.sockets.size;
      for (let i = 0; i < 10; i++) await get('/healthz');
      expect(stub.sockets.size - socketsBefore).toBeLessThanOrEqual(1);
    });
  });
});
