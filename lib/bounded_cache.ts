/** A Map used as a bounded cache: the oldest entry goes when a new one would pass the bound. */

/**
 * `map.get(key)`, or `make()` stored under `key` first (dropping the oldest entry when the map
 * already holds `max`).
 *
 * @example
 * ```ts
 * const cache = new Map<string, number>();
 * getOrMake(cache, "a", 2, () => 1); // 1, made
 * getOrMake(cache, "a", 2, () => 2); // 1, kept
 * ```
 */
export function getOrMake<K, V>(map: Map<K, V>, key: K, max: number, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    if (map.size >= max) map.delete(map.keys().next().value!);
    map.set(key, v);
  }
  return v;
}
