/**
 * afterCommit on the real PostgreSQL: the callback runs once the outermost COMMIT has returned (a
 * second connection already sees the change), never after a rollback, not at a savepoint's
 * release, and at once outside a transaction.
 */
import { Client } from 'pg';
import { afterCommit } from '../src';
import { createTestDb, type TestDb } from './harness';

describe('afterCommit', () => {
  let db: TestDb;
  let other: Client;

  beforeAll(async () => {
    db = await createTestDb();
    other = new Client({ connectionString: db.url });
    await other.connect();
  });
  afterAll(async () => {
    await other.end();
    await db.drop();
  });

  const seen = async (id: string): Promise<boolean> =>
    (await other.query('SELECT 1 FROM it_aggregate WHERE id = $1', [id])).rowCount === 1;

  it('runs after the outermost commit, when the change is visible to everyone', async () => {
    const calls: string[] = [];
    const probe: { visible?: Promise<boolean> } = {};
    await db.ds.transaction(async (m) => {
      await m.query(`INSERT INTO it_aggregate (id) VALUES ('ac-1')`);
      afterCommit(m, () => {
        calls.push('outer');
        probe.visible = seen('ac-1');
      });
      await m.transaction(async (inner) => {
        await inner.query(`INSERT INTO it_aggregate (id) VALUES ('ac-2')`);
        afterCommit(inner, () => calls.push('inner'));
      });
      // the savepoint was released, the transaction is still open
      expect(calls).toEqual([]);
    });
    expect(calls).toEqual(['outer', 'inner']);
    expect(await probe.visible).toBe(true);
  });

  it('never runs after a rollback, and runs at once outside a transaction', async () => {
    const calls: string[] = [];
    await db.ds
      .transaction(async (m) => {
        await m.query(`INSERT INTO it_aggregate (id) VALUES ('ac-3')`);
        afterCommit(m, () => calls.push('rolled back'));
        throw new Error('rollback');
      })
      .catch(() => undefined);
    expect(calls).toEqual([]);
    expect(await seen('ac-3')).toBe(false);
    afterCommit(db.ds.manager, () => calls.push('now'));
    expect(calls).toEqual(['now']);
    // a later transaction on a reused connection does not run the old callbacks
    await db.ds.transaction((m) => m.query('SELECT 1'));
    expect(calls).toEqual(['now']);
  });
});
