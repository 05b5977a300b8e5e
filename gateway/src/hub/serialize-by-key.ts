/**
 * Runs async tasks one at a time per key (here: per access request), in arrival order, while
 * tasks under different keys run concurrently. A hand-written promise chain rather than a
 * package: it is a dozen lines, and the node_modules tree has no keyed mutex (es-toolkit's
 * `Mutex` is unkeyed and not a dependency of the gateway).
 */

/** A keyed serializer: `run(key, task)` starts `task` once every earlier task under `key` has settled. */
export interface KeyedSerializer {
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
  /** Keys with a task queued or running (for tests: the map must not grow without bound). */
  readonly size: number;
}

/**
 * Creates a keyed serializer.
 *
 * @example
 * const perRequest = serializeByKey();
 * await perRequest.run(requestId, async () => decide());
 */
export function serializeByKey(): KeyedSerializer {
  const tails = new Map<string, Promise<unknown>>();
  return {
    run<T>(key: string, task: () => Promise<T>): Promise<T> {
      const previous = tails.get(key) ?? Promise.resolve();
      const result = previous.then(task, task);
      // The tail never rejects (a failed task must not fail the next one) and is dropped
      // when nothing else has queued behind it.
      const tail = result.then(() => undefined, () => undefined);
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },
    get size() {
      return tails.size;
    },
  };
}
