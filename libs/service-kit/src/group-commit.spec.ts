import { GroupCommit } from './group-commit';

/** A writer whose batches finish only when the test says so. */
function controlled<R>(answer: (job: number) => PromiseSettledResult<R>) {
  const batches: number[][] = [];
  const finish: (() => void)[] = [];
  const gc = new GroupCommit<number, R>(
    (jobs) => {
      batches.push(jobs);
      return new Promise((resolve) => finish.push(() => resolve(jobs.map(answer))));
    },
    { maxBatch: 3, maxInFlight: 1 },
  );
  return { gc, batches, finish };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('GroupCommit', () => {
  it('writes a lone job at once, and groups the jobs that arrive while a batch is in flight', async () => {
    const { gc, batches, finish } = controlled((j) => ({ status: 'fulfilled', value: j * 10 }));
    const first = gc.submit(1);
    expect(batches).toEqual([[1]]);
    const rest = [2, 3, 4, 5, 6].map((j) => gc.submit(j));
    expect(gc.waiting).toBe(5);
    finish.shift()!();
    await expect(first).resolves.toBe(10);
    await tick();
    expect(batches).toEqual([[1], [2, 3, 4]]); // maxBatch 3, arrival order
    finish.shift()!();
    await tick();
    expect(batches[2]).toEqual([5, 6]);
    finish.shift()!();
    await expect(Promise.all(rest)).resolves.toEqual([20, 30, 40, 50, 60]);
    expect(gc.waiting).toBe(0);
  });

  it('settles each job with its own result', async () => {
    const { gc, finish } = controlled<number>((j) =>
      j % 2 ? { status: 'fulfilled', value: j } : { status: 'rejected', reason: new Error(`job ${j}`) },
    );
    const a = gc.submit(1);
    finish.shift()!();
    await a;
    const b = gc.submit(2);
    const c = gc.submit(3);
    finish.shift()!();
    await expect(b).rejects.toThrow('job 2');
    await tick();
    finish.shift()!();
    await expect(c).resolves.toBe(3);
  });

  it('rejects every job of a batch whose writer throws, and goes on with the next batch', async () => {
    let calls = 0;
    const gc = new GroupCommit<number, number>(
      async (jobs) => {
        calls += 1;
        if (calls === 1) throw new Error('connection lost');
        return jobs.map((j) => ({ status: 'fulfilled' as const, value: j }));
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    const doomed = [gc.submit(1)];
    await expect(doomed[0]).rejects.toThrow('connection lost');
    await expect(gc.submit(2)).resolves.toBe(2);
  });

  it('keeps at most maxInFlight batches open', async () => {
    let open = 0;
    let maxOpen = 0;
    const gc = new GroupCommit<number, number>(
      async (jobs) => {
        open += 1;
        maxOpen = Math.max(maxOpen, open);
        await tick();
        open -= 1;
        return jobs.map((j) => ({ status: 'fulfilled' as const, value: j }));
      },
      { maxBatch: 2, maxInFlight: 2 },
    );
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => gc.submit(i)));
    expect(all).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(maxOpen).toBe(2);
  });

  it('refuses a batch size or writer count below one', () => {
    expect(() => new GroupCommit(async () => [], { maxBatch: 0, maxInFlight: 1 })).toThrow(RangeError);
    expect(() => new GroupCommit(async () => [], { maxBatch: 1, maxInFlight: 0 })).toThrow(RangeError);
  });
});
