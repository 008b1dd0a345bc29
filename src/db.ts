/**
 * The Prisma client, on SQLite or PostgreSQL depending on DATABASE_URL, through driver adapters
 * (no native engine: see README "Database").
 *
 * Both generated clients come from the same models (prisma/schema.prisma and its derived
 * PostgreSQL copy), so the PostgreSQL client is typed as the SQLite one.
 */
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import type {
  SqlDriverAdapter,
  SqlDriverAdapterFactory,
  Transaction,
} from '@prisma/driver-adapter-utils';
import type { Config, DatabaseKind } from './config.ts';
import { prepareSqliteFile } from './db-sqlite-file.ts';
import { PrismaClientKnownRequestError } from '@prisma/client/runtime/client';
import type { Prisma, PrismaClient as SqliteClient } from './generated/sqlite/client.ts';

export type Db = SqliteClient;
export type Tx = Prisma.TransactionClient;
export type { Prisma };

export interface Database {
  prisma: Db;
  kind: DatabaseKind;
  /**
   * The driver beneath Prisma, for the one write path Prisma is too slow for (download events:
   * events/event-batch-writer.ts). SQLite: a second connection that only runs while no Prisma
   * transaction is open. PostgreSQL: the pool Prisma itself uses.
   */
  driver: { kind: 'sqlite'; exclusive<T>(work: (connection: BetterSqlite3.Database) => T): Promise<T> } | { kind: 'postgresql'; pool: pg.Pool };
  close(): Promise<void>;
}

const SQLITE_BUSY_TIMEOUT_MS = 5000;

export async function createDatabase(database: Config['database']): Promise<Database> {
  if (database.kind === 'sqlite') {
    prepareSqliteFile(database.file!);
    const factory = new PrismaBetterSqlite3({ url: database.file!, timeout: SQLITE_BUSY_TIMEOUT_MS });
    const gate = new StatementGate();
    // Each generated client is loaded only when used: they are large modules.
    const { PrismaClient } = await import('./generated/sqlite/client.ts');
    const prisma = new PrismaClient({ adapter: gateSqliteStatements(factory, gate) });
    // WAL lets readers (another process, a backup) run beside the writer; NORMAL syncs at
    // checkpoints instead of every commit, which keeps committed data through a process crash.
    await prisma.$queryRawUnsafe('PRAGMA journal_mode = WAL');
    await prisma.$queryRawUnsafe('PRAGMA synchronous = NORMAL');
    await prisma.$queryRawUnsafe('PRAGMA foreign_keys = ON');
    let second: BetterSqlite3.Database | undefined;
    const exclusive = async <T>(work: (connection: BetterSqlite3.Database) => T): Promise<T> => {
      if (!second) {
        second = new BetterSqlite3(database.file!, { timeout: SQLITE_BUSY_TIMEOUT_MS });
        second.pragma('synchronous = NORMAL');
        second.pragma('foreign_keys = ON');
      }
      // Synchronous work inside the gate: no Prisma transaction is open on the other
      // connection, and none can start until this returns, so the two never wait on each other.
      const release = await gate.lock();
      try {
        return work(second);
      } finally {
        release();
      }
    };
    return {
      prisma,
      kind: 'sqlite',
      driver: { kind: 'sqlite', exclusive },
      close: async () => {
        second?.close();
        await prisma.$disconnect();
      },
    };
  }
  const pool = new pg.Pool({ connectionString: database.url, max: database.poolMax });
  // An idle connection the server closes (a restart, pg_terminate_backend, a dropped test
  // database while pool.end() is still closing it) is emitted on the pool; without a listener
  // that would crash the process. The pool has already dropped it; the next query reconnects.
  pool.on('error', () => undefined);
  const { PrismaClient } = await import('./generated/postgres/client.ts');
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) }) as unknown as Db;
  return {
    prisma,
    kind: 'postgresql',
    driver: { kind: 'postgresql', pool },
    close: async () => {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/**
 * The better-sqlite3 adapter runs every statement on one connection and locks only against other
 * transactions: a statement issued while an interactive transaction is open would run inside it
 * (and vanish with its rollback). This gate makes such statements wait for the transaction to end.
 */
function gateSqliteStatements(factory: PrismaBetterSqlite3, gate: StatementGate): SqlDriverAdapterFactory {
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    async connect(): Promise<SqlDriverAdapter> {
      const inner = await factory.connect();
      return {
        provider: inner.provider,
        adapterName: inner.adapterName,
        queryRaw: (query) => gate.run(() => inner.queryRaw(query)),
        executeRaw: (query) => gate.run(() => inner.executeRaw(query)),
        executeScript: (script) => gate.run(() => inner.executeScript(script)),
        getConnectionInfo: inner.getConnectionInfo?.bind(inner),
        dispose: () => inner.dispose(),
        async startTransaction(isolationLevel): Promise<Transaction> {
          const release = await gate.lock();
          try {
            const tx = await inner.startTransaction(isolationLevel);
            return releasingOnEnd(tx, release);
          } catch (error) {
            release();
            throw error;
          }
        },
      };
    },
  };
}

function releasingOnEnd(tx: Transaction, release: () => void): Transaction {
  return new Proxy(tx, {
    get(target, property, receiver) {
      if (property === 'commit' || property === 'rollback') {
        return async () => {
          try {
            await target[property]();
          } finally {
            release();
          }
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** A FIFO lock taken by transactions; plain statements pass straight through when it is free. */
class StatementGate {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;

  lock(): Promise<() => void> {
    this.waiting++;
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => {
      release = () => {
        this.waiting--;
        resolve();
      };
    });
    return previous.then(() => release);
  }

  async run<T>(statement: () => Promise<T>): Promise<T> {
    if (this.waiting === 0) return statement();
    const release = await this.lock();
    try {
      return await statement();
    } finally {
      release();
    }
  }
}

/** Prisma's error for a unique constraint (e.g. a slug taken between check and insert). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof PrismaClientKnownRequestError && error.code === 'P2002';
}

export function isRecordNotFound(error: unknown): boolean {
  return error instanceof PrismaClientKnownRequestError && error.code === 'P2025';
}
