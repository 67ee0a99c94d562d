/**
 * In-process wake-ups keyed by id: an HTTP request waits (bounded) for a consumer of the same
 * process to commit a change, instead of only polling for it. A wake-up that finds nobody waiting
 * is dropped; waiters also time out, so a change committed by another replica is still seen by
 * the caller's next poll.
 */
export class Waiters {
  private readonly waiting = new Map<string, Set<() => void>>();

  /** Resolves on `wake(key)` or after `ms`, whichever comes first. */
  wait(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiting.get(key);
      if (!set) {
        set = new Set();
        this.waiting.set(key, set);
      }
      const entries = set;
      const done = () => {
        clearTimeout(timer);
        entries.delete(done);
        if (entries.size === 0 && this.waiting.get(key) === entries) this.waiting.delete(key);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      entries.add(done);
    });
  }

  wake(key: string): void {
    for (const done of [...(this.waiting.get(key) ?? [])]) done();
  }

  /** Keys with someone waiting (for tests and metrics). */
  get size(): number {
    return this.waiting.size;
  }
}
