/**
 * express-session's store on our Session table.
 *
 * Written here rather than taken from @quixo3/prisma-session-store because that store's touch()
 * writes the whole session back from a copy read earlier. express-session sends a page before
 * its touch() has finished, so a quick next request (a form posted from that page) could save
 * the session and then lose the change to the late touch() — a flash message, a CSRF token.
 * Here touch() only moves the expiry and set() is one upsert.
 */
import session from 'express-session';
import type { Db } from '../db.ts';

type Callback<T = void> = (error?: unknown, value?: T) => void;

export class DatabaseSessionStore extends session.Store {
  private sweeper: NodeJS.Timeout;

  constructor(
    private readonly db: Db,
    private readonly defaultTtlMs: number,
    sweepEveryMs = 10 * 60_000,
  ) {
    super();
    this.sweeper = setInterval(() => void this.sweepExpired().catch(() => undefined), sweepEveryMs);
    this.sweeper.unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  private expiry(data: session.SessionData): Date {
    const expires = data.cookie?.expires ? new Date(data.cookie.expires) : undefined;
    return expires && !Number.isNaN(expires.getTime()) ? expires : new Date(Date.now() + this.defaultTtlMs);
  }

  override get(sid: string, callback: Callback<session.SessionData | null>): void {
    this.db.session
      .findUnique({ where: { sid } })
      .then((row) => {
        if (!row || row.expiresAt.getTime() <= Date.now()) return callback(undefined, null);
        callback(undefined, JSON.parse(row.data) as session.SessionData);
      })
      .catch((error) => callback(error));
  }

  override set(sid: string, data: session.SessionData, callback?: Callback): void {
    const row = { data: JSON.stringify(data), expiresAt: this.expiry(data) };
    this.db.session
      .upsert({ where: { sid }, update: row, create: { id: sid, sid, ...row } })
      .then(() => callback?.())
      .catch((error) => callback?.(error));
  }

  override touch(sid: string, data: session.SessionData, callback?: Callback): void {
    this.db.session
      .updateMany({ where: { sid }, data: { expiresAt: this.expiry(data) } })
      .then(() => callback?.())
      .catch((error) => callback?.(error));
  }

  override destroy(sid: string, callback?: Callback): void {
    this.db.session
      .deleteMany({ where: { sid } })
      .then(() => callback?.())
      .catch((error) => callback?.(error));
  }

  async sweepExpired(): Promise<number> {
    return (await this.db.session.deleteMany({ where: { expiresAt: { lte: new Date() } } })).count;
  }
}
