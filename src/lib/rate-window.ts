/**
 * Counts events per key in a sliding window (in memory, per process): "at most N wrong tokens
 * per minute from one client". Keys expire with their window; the map is bounded.
 */
import type { Clock } from '../clock.ts';

export function createRateWindow(options: { limit: number; windowMs: number; clock: Clock; maxKeys?: number }) {
  const { limit, windowMs, clock, maxKeys = 50_000 } = options;
  const hits = new Map<string, number[]>();

  const recent = (key: string, now: number) => (hits.get(key) ?? []).filter((t) => now - t < windowMs);

  return {
    /** Records one event for the key. */
    hit(key: string): void {
      const now = clock.now().getTime();
      if (hits.size >= maxKeys && !hits.has(key)) hits.clear();
      hits.set(key, [...recent(key, now), now]);
    },
    /** Seconds until the key may act again, or 0 when it is under its limit. */
    retryAfter(key: string): number {
      const now = clock.now().getTime();
      const times = recent(key, now);
      if (times.length < limit) return 0;
      return Math.max(1, Math.ceil((times[times.length - limit]! + windowMs - now) / 1000));
    },
  };
}
