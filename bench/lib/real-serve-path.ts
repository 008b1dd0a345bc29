/**
 * HOOK for scenario (c) of bench/serve.ts: nginx → the real app's serve handler → nginx sends the
 * file. Not wired yet: the serve handler is being written separately. Until then this returns
 * `{ skipped }` and the benchmark prints the reason instead of a number.
 *
 * To wire it (the serving work):
 *   1. start the app as its own process with DOWNLOAD_SERVE_FROM=LOCAL, MEDIA_ROOT=setup.mediaRoot,
 *      MEDIA_URL=setup.mediaUrl, a fresh DATABASE_URL under setup.outDir, LOG_LEVEL=warn
 *      (tests/helpers/processes.ts startServerProcess shows how it is started and awaited);
 *   2. register setup.files.small (and .big) as published downloads that need no token, keeping
 *      their storage keys (the files already exist under MEDIA_ROOT/downloads/<key>);
 *   3. `const nginx = await setup.startNginx([appAddress])`, the same nginx settings as (a)/(b);
 *   4. return the download URLs through that nginx and a stop() that stops nginx and the app.
 */
import type { RunningNginx } from '../../tests/helpers/nginx.ts';

export interface BenchFile {
  /** opaque storage key: the file is MEDIA_ROOT/downloads/<key> */
  key: string;
  size: number;
  path: string;
}

export interface RealServeSetup {
  mediaRoot: string;
  mediaUrl: string;
  /** a scratch folder for this run (database, logs); removed afterwards unless --keep */
  outDir: string;
  files: { small: BenchFile; big?: BenchFile };
  /** Starts nginx with the shipped site config and this run's settings in front of `upstreams`. */
  startNginx(upstreams: string[]): Promise<RunningNginx>;
}

export interface RealServePath {
  /** Full URLs through nginx that answer 200 with the file's bytes. */
  urls: { small: string; big?: string };
  stop(): Promise<void>;
}

export async function startRealServePath(_setup: RealServeSetup): Promise<RealServePath | { skipped: string }> {
  return { skipped: 'the real serve handler is not wired in yet (bench/lib/real-serve-path.ts)' };
}
