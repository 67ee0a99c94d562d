import { Waiters } from './waiters';

describe('Waiters', () => {
  it('wakes every waiter of a key at once and forgets the key', async () => {
    const w = new Waiters();
    const started = Date.now();
    const a = w.wait('ord_1', 5_000);
    const b = w.wait('ord_1', 5_000);
    const other = w.wait('ord_2', 30);
    expect(w.size).toBe(2);
    w.wake('ord_1');
    await Promise.all([a, b]);
    expect(Date.now() - started).toBeLessThan(1_000);
    await other; // times out by itself
    expect(w.size).toBe(0);
  });

  it('times out when nobody wakes it, and a wake without waiters is a no-op', async () => {
    const w = new Waiters();
    w.wake('nobody');
    const started = Date.now();
    await w.wait('ord_3', 50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(w.size).toBe(0);
  });
});
