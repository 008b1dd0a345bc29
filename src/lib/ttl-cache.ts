/** A small map whose entries expire; cleared whole when it grows past its bound. */
export function createTtlCache<K, V>(ttlMs: number, maxEntries = 10_000) {
  const entries = new Map<K, { at: number; value: V }>();
  const fresh = (key: K) => {
    const hit = entries.get(key);
    return hit && Date.now() - hit.at < ttlMs ? hit : undefined;
  };
  return {
    /** The cached value while it is fresh (no promise: the hot path's common case). */
    peek(key: K): { value: V } | undefined {
      return fresh(key);
    },
    async get(key: K, load: () => Promise<V>): Promise<V> {
      const hit = fresh(key);
      if (hit) return hit.value;
      const value = await load();
      if (entries.size >= maxEntries) entries.clear();
      entries.set(key, { at: Date.now(), value });
      return value;
    },
    delete: (key: K) => entries.delete(key),
    clear: () => entries.clear(),
  };
}
