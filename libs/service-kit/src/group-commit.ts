/**
 * Group commit for a hot write path: requests that arrive while a transaction is being written
 * and flushed are queued, and the next free writer takes all of them (up to `maxBatch`) into one
 * transaction. Under load a batch costs one commit (one WAL flush) and a few statements instead
 * of one of each per request; with a single request waiting it is written at once, so an idle
 * system adds no delay (no timer, no linger).
 *
 * `run` gets the jobs in arrival order and returns one settled result per job, in the same
 * order: it decides per job (a batch that fails as a whole is the caller's to retry one by one).
 * If `run` itself throws, every job of that batch is rejected with the error.
 */
export class GroupCommit<J, R> {
  private readonly queue: { job: J; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private inFlight = 0;

  constructor(
    private readonly run: (jobs: J[]) => Promise<PromiseSettledResult<R>[]>,
    private readonly opts: {
      maxBatch: number;
      maxInFlight: number;
      /** Called with each batch's size as it starts (a metric). */
      onBatch?: (size: number) => void;
    },
  ) {
    if (opts.maxBatch < 1 || opts.maxInFlight < 1) throw new RangeError('maxBatch and maxInFlight must be >= 1');
  }

  /** Jobs waiting for a writer (not counting those being written). */
  get waiting(): number {
    return this.queue.length;
  }

  submit(job: J): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.opts.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.maxBatch);
      this.inFlight += 1;
      this.opts.onBatch?.(batch.length);
      void this.write(batch);
    }
  }

  private async write(batch: GroupCommit<J, R>['queue']): Promise<void> {
    try {
      const results = await this.run(batch.map((b) => b.job));
      batch.forEach((b, i) => {
        const r = results[i];
        if (r?.status === 'fulfilled') b.resolve(r.value);
        else b.reject(r ? r.reason : new Error('group commit: no result for a job'));
      });
    } catch (err) {
      for (const b of batch) b.reject(err);
    } finally {
      this.inFlight -= 1;
      this.pump();
    }
  }
}
