import { dailyReportCsv } from './report-csv';

const HEADER =
  'date,merchantId,currency,gross,discounts,refunds,fees,net,paymentCount,refundCount,ticketCount,' +
  'settlementCurrency,settlementGross,settlementRefunds,settlementNet';

describe('daily report CSV', () => {
  it('writes one line per currency with amounts in major units', () => {
    const m = (value: number, currency: string) => ({ value, currency });
    const s = (gross: number, refunds: number) => ({
      currency: 'CNY',
      gross: m(gross, 'CNY'),
      refunds: m(refunds, 'CNY'),
      net: m(gross - refunds, 'CNY'),
    });
    const csv = dailyReportCsv({
      date: '2026-05-01',
      merchantId: 'mch_0abcdefgh0123456789abcdef',
      totals: [
        {
          currency: 'CNY',
          gross: m(25_000, 'CNY'),
          discounts: m(0, 'CNY'),
          refunds: m(1_250, 'CNY'),
          fees: m(150, 'CNY'),
          net: m(23_600, 'CNY'),
          paymentCount: 2,
          refundCount: 1,
          ticketCount: 3,
          settlement: s(25_000, 1_250),
        },
        {
          currency: 'JPY',
          gross: m(1_200, 'JPY'),
          discounts: m(0, 'JPY'),
          refunds: m(1_500, 'JPY'),
          fees: m(7, 'JPY'),
          net: m(-307, 'JPY'),
          paymentCount: 1,
          refundCount: 1,
          ticketCount: 1,
          settlement: s(5_760, 7_200),
        },
      ],
    });
    expect(csv.split('\r\n')).toEqual([
      HEADER,
      '2026-05-01,mch_0abcdefgh0123456789abcdef,CNY,250.00,0.00,12.50,1.50,236.00,2,1,3,CNY,250.00,12.50,237.50',
      '2026-05-01,mch_0abcdefgh0123456789abcdef,JPY,1200,0,1500,7,-307,1,1,1,CNY,57.60,72.00,-14.40',
      '',
    ]);
  });

  it('writes only the header for an empty day', () => {
    expect(dailyReportCsv({ date: '2026-05-01', totals: [] })).toBe(`${HEADER}\r\n`);
  });
});
