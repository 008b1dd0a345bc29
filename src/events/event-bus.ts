/**
 * A small typed in-process event bus. Producers emit and never wait for or hear from
 * subscribers: a failing subscriber is logged and the others still run. Anything that must not
 * be lost goes to the database in the producer's transaction (the webhook outbox, the download
 * event rows); the bus is for extensions and in-process reactions.
 */
import type { Logger } from '../log.ts';

export type Handler<T> = (payload: T) => void | Promise<void>;

export interface EventBus<Events extends object> {
  on<K extends keyof Events>(type: K, handler: Handler<Events[K]>): () => void;
  emit<K extends keyof Events>(type: K, payload: Events[K]): void;
  /** Waits for the async handlers started so far (tests, shutdown). */
  settled(): Promise<void>;
}

export function createEventBus<Events extends object>(log?: Logger): EventBus<Events> {
  const handlers = new Map<keyof Events, Set<Handler<never>>>();
  const pending = new Set<Promise<void>>();
  return {
    on(type, handler) {
      if (!handlers.has(type)) handlers.set(type, new Set());
      handlers.get(type)!.add(handler as Handler<never>);
      return () => handlers.get(type)?.delete(handler as Handler<never>);
    },
    emit(type, payload) {
      for (const handler of handlers.get(type) ?? []) {
        try {
          const result = (handler as Handler<typeof payload>)(payload);
          if (result instanceof Promise) {
            const tracked = result
              .catch((error) => log?.error({ err: error, event: type }, 'event subscriber failed'))
              .finally(() => pending.delete(tracked));
            pending.add(tracked);
          }
        } catch (error) {
          log?.error({ err: error, event: String(type) }, 'event subscriber failed');
        }
      }
    },
    async settled() {
      while (pending.size) await Promise.all([...pending]);
    },
  };
}
