import { decideScan } from './scans.service';

/** The gate's decision, separate from how it is written (compare-and-set online, row lock offline). */
describe('decideScan', () => {
  const at = new Date('2026-12-01T10:00:00Z');
  const ticket = (o: Partial<Parameters<typeof decideScan>[0]> = {}) => ({
    id: 'tkt_1',
    status: 'valid',
    entries_left: 2,
    inside: false,
    valid_from: new Date('2026-12-01T00:00:00Z'),
    valid_to: new Date('2026-12-02T00:00:00Z'),
    ...o,
  });

  it('admits in and counts the entry down; the last entry makes the ticket used', () => {
    expect(decideScan(ticket(), 'in', at)).toEqual({
      response: { result: 'admitted', ticket: { id: 'tkt_1', status: 'valid', entriesLeft: 1 } },
      next: { entriesLeft: 1, status: 'valid', inside: true },
      needsPreviousScan: false,
    });
    expect(decideScan(ticket({ entries_left: 1 }), 'in', at).next).toEqual({
      entriesLeft: 0,
      status: 'used',
      inside: true,
    });
  });

  it('rejects used, void, early and late tickets without changing them', () => {
    const used = decideScan(ticket({ entries_left: 0, status: 'used' }), 'in', at);
    expect(used).toMatchObject({ response: { result: 'rejected', reason: 'ALREADY_USED' }, next: null });
    expect(used.needsPreviousScan).toBe(true);
    expect(decideScan(ticket({ status: 'void' }), 'in', at).response.reason).toBe('VOID');
    expect(decideScan(ticket({ valid_from: new Date('2026-12-01T11:00:00Z') }), 'in', at).response.reason).toBe(
      'NOT_YET_VALID',
    );
    expect(decideScan(ticket({ valid_to: at }), 'in', at).response.reason).toBe('EXPIRED');
  });

  it('lets out only who is inside, keeping the entries', () => {
    expect(decideScan(ticket(), 'out', at)).toMatchObject({
      response: { result: 'rejected', reason: 'NOT_INSIDE' },
      next: null,
    });
    expect(decideScan(ticket({ inside: true, entries_left: 1 }), 'out', at)).toMatchObject({
      response: { result: 'admitted' },
      next: { entriesLeft: 1, status: 'valid', inside: false },
    });
  });
});
