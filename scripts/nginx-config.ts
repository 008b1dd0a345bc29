/**
 * Renders nginx/downloads.conf.template into a site configuration for LOCAL serving.
 *
 *   node --import tsx scripts/nginx-config.ts [--listen 8080] [--upstream 127.0.0.1:3000 ...]
 *        [--server-name downloads.example.org] [--access-log /var/log/nginx/downloads.log]
 *
 * MEDIA_ROOT, MEDIA_URL and UPLOAD_MAX_BYTES come from the app's own configuration
 * (loadConfig), so nginx and the app cannot disagree about them. Every value is validated
 * before it is written: a newline, `;`, brace, quote, `$` or `#` in a value would let it end
 * the directive and inject configuration.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, PROJECT_ROOT, loadConfig } from '../src/config.ts';

export const TEMPLATE_PATH = path.join(PROJECT_ROOT, 'nginx', 'downloads.conf.template');

export interface NginxConfigOptions {
  /** `8080`, `127.0.0.1:8080` or `[::1]:8080` */
  listen: string;
  /** App instances as `host:port` or `unix:/path/to.sock`; nginx balances between them. */
  upstreams: string[];
  /** The internal location prefix, MEDIA_URL: `/media/` */
  mediaUrl: string;
  /** Absolute path of MEDIA_ROOT */
  mediaRoot: string;
  /** client_max_body_size: UPLOAD_MAX_BYTES plus room for the multipart envelope (bodyLimitFor) */
  maxBodyBytes: number;
  /** Absolute path of the access log (format downloads_json, see nginx/README.md) */
  accessLog: string;
  /** server_name; `_` (any) when omitted */
  serverName?: string;
}

export class NginxConfigError extends Error {
  override name = 'NginxConfigError';
}

// Characters that end or alter an nginx directive: whitespace separates arguments, `;` and
// braces end blocks, quotes and `\` change parsing, `$` interpolates variables, `#` comments.
const UNSAFE = /[\s;{}"'\\$#]|[\u0000-\u001f\u007f]/;

const PORT = /^\d{1,5}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])$/;

function checkPort(port: string, what: string): void {
  const n = Number(port);
  if (!PORT.test(port) || n < 1 || n > 65535) throw new NginxConfigError(`${what}: port must be 1-65535`);
}

function checkHostPort(value: string, what: string, portOnlyAllowed: boolean): void {
  if (portOnlyAllowed && PORT.test(value)) return checkPort(value, what);
  const at = value.lastIndexOf(':');
  const host = value.slice(0, at);
  if (at < 1 || !HOST.test(host)) {
    throw new NginxConfigError(`${what}: expected host:port${portOnlyAllowed ? ' or a port' : ''} (got ${JSON.stringify(value)})`);
  }
  checkPort(value.slice(at + 1), what);
}

function checkAbsolutePath(value: string, what: string): void {
  if (UNSAFE.test(value)) throw new NginxConfigError(`${what}: must not contain whitespace, quotes, ; { } $ # or control characters`);
  if (!path.isAbsolute(value)) throw new NginxConfigError(`${what}: must be an absolute path (got ${JSON.stringify(value)})`);
}

function validate(options: NginxConfigOptions): Required<NginxConfigOptions> {
  const serverName = options.serverName ?? '_';
  for (const [name, value] of Object.entries({ ...options, serverName })) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (typeof v === 'string' && UNSAFE.test(v)) {
        throw new NginxConfigError(`${name}: must not contain whitespace, quotes, ; { } $ # or control characters`);
      }
    }
  }

  checkHostPort(options.listen, 'listen', true);

  if (options.upstreams.length === 0) throw new NginxConfigError('upstreams: at least one app instance is needed');
  for (const upstream of options.upstreams) {
    if (upstream.startsWith('unix:')) checkAbsolutePath(upstream.slice('unix:'.length), 'upstreams');
    else checkHostPort(upstream, 'upstreams', false);
  }

  // The same shape src/config.ts accepts, minus dot segments (an alias prefix of /../ is nonsense).
  const segments = options.mediaUrl.split('/').slice(1, -1);
  if (!/^\/([A-Za-z0-9._-]+\/)+$/.test(options.mediaUrl) || segments.some((s) => s === '.' || s === '..')) {
    throw new NginxConfigError(`mediaUrl: expected a path like /media/ (got ${JSON.stringify(options.mediaUrl)})`);
  }

  checkAbsolutePath(options.mediaRoot, 'mediaRoot');
  if (path.resolve(options.mediaRoot) === '/') throw new NginxConfigError('mediaRoot: refusing to serve the whole file system');

  if (!Number.isSafeInteger(options.maxBodyBytes) || options.maxBodyBytes < 1) {
    // nginx reads 0 as "no limit": never produce that by accident.
    throw new NginxConfigError(`maxBodyBytes: expected a positive whole number of bytes (got ${options.maxBodyBytes})`);
  }

  checkAbsolutePath(options.accessLog, 'accessLog');

  if (!/^[A-Za-z0-9*_.-]+$/.test(serverName)) throw new NginxConfigError(`serverName: expected a host name, *.domain or _`);

  return { ...options, serverName };
}

/** The site configuration (upstream, maps, log_format and server block) as text. */
export function renderNginxConfig(options: NginxConfigOptions, template = fs.readFileSync(TEMPLATE_PATH, 'utf8')): string {
  const o = validate(options);
  const values: Record<string, string> = {
    LISTEN: o.listen,
    SERVER_NAME: o.serverName,
    UPSTREAM_SERVERS: o.upstreams.map((u) => `    server ${u};`).join('\n'),
    MEDIA_URL: o.mediaUrl,
    // No trailing slash here: the template writes `alias {{MEDIA_ROOT}}/;`.
    MEDIA_ROOT: path.resolve(o.mediaRoot),
    CLIENT_MAX_BODY_SIZE: String(o.maxBodyBytes),
    ACCESS_LOG: o.accessLog,
  };
  const used = new Set<string>();
  const rendered = template.replace(/\{\{([A-Z_]+)\}\}/g, (_match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new NginxConfigError(`template: unknown placeholder {{${name}}}`);
    used.add(name);
    return value;
  });
  const unused = Object.keys(values).filter((name) => !used.has(name));
  if (unused.length) throw new NginxConfigError(`template: placeholders never used: ${unused.join(', ')}`);
  return rendered;
}

const USAGE = `usage: node --import tsx scripts/nginx-config.ts [options] > /etc/nginx/conf.d/downloads.conf

  --listen ADDR        port or host:port nginx listens on (default 80)
  --upstream ADDR      an app instance, host:port or unix:/path; repeat for several
                       (default: the app's HOST:PORT, 0.0.0.0 read as 127.0.0.1)
  --server-name NAME   server_name (default _, any host)
  --access-log PATH    access log in the downloads_json format
                       (default /var/log/nginx/downloads.access.log)

MEDIA_ROOT, MEDIA_URL and UPLOAD_MAX_BYTES are read from the environment like the app does.`;

/** CLI: exit 0 with the config on stdout; 1 when a value is refused; 2 on a usage error. */
function main(argv: string[]): number {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        listen: { type: 'string', default: '80' },
        upstream: { type: 'string', multiple: true },
        'server-name': { type: 'string', default: '_' },
        'access-log': { type: 'string', default: '/var/log/nginx/downloads.access.log' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const config = loadConfig();
    // The app listening on every address is reachable on loopback; an IPv6 host needs brackets.
    const host = config.server.host;
    const appHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    process.stdout.write(
      renderNginxConfig({
        listen: args.listen,
        upstreams: args.upstream?.length ? args.upstream : [`${appHost}:${config.server.port}`],
        serverName: args['server-name'],
        mediaUrl: config.media.url,
        mediaRoot: config.media.root,
        maxBodyBytes: bodyLimitFor(config.uploads.maxBytes),
        accessLog: args['access-log'],
      }),
    );
    return 0;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof NginxConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  process.exitCode = main(process.argv.slice(2));
}

/**
 * UPLOAD_MAX_BYTES limits one file; nginx limits the whole request body, which also carries the
 * multipart boundaries, the form fields and a generator's background image. A file just under
 * the app's limit must not be refused by nginx first.
 */
export function bodyLimitFor(uploadMaxBytes: number): number {
  return uploadMaxBytes + 64 * 1024 * 1024;
}
