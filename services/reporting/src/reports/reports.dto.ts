import { z } from 'zod';
import { idSchema } from '@admit/contracts';
import { FLOW_INTERVALS, type FlowInterval } from '../visitors/flow';

/** A calendar date PostgreSQL and JavaScript both handle: 1970-01-01 … 9999-12-30. */
const dateSchema = z.iso
  .date({ message: 'must be a calendar date YYYY-MM-DD' })
  .refine((d) => d >= '1970-01-01' && d <= '9999-12-30', 'must be between 1970-01-01 and 9999-12-30');

/** `GET /v1/reports/daily?date=&merchantId=` */
export const dailyReportQuerySchema = z.strictObject({
  date: dateSchema,
  merchantId: idSchema('merchant').optional(),
});
export type DailyReportQuery = z.infer<typeof dailyReportQuerySchema>;

/** `GET /v1/reports/occupancy?attractionId=` */
export const occupancyQuerySchema = z.strictObject({
  attractionId: idSchema('attraction'),
});
export type OccupancyQuery = z.infer<typeof occupancyQuerySchema>;

const intervals = Object.keys(FLOW_INTERVALS) as [FlowInterval, ...FlowInterval[]];

/** `GET /v1/reports/visitor-flow?attractionId=&date=&interval=15m` */
export const visitorFlowQuerySchema = z.strictObject({
  attractionId: idSchema('attraction'),
  date: dateSchema,
  interval: z.enum(intervals).default('15m'),
});
export type VisitorFlowQuery = z.infer<typeof visitorFlowQuerySchema>;

/** Money in a report: net can be negative (a day with more refunds than sales). */
const reportMoney = z.object({ value: z.number().int(), currency: z.string() });

export const dailyTotalsSchema = z.object({
  currency: z.string(),
  gross: reportMoney,
  discounts: reportMoney,
  refunds: reportMoney,
  fees: reportMoney,
  net: reportMoney,
  paymentCount: z.number().int(),
  refundCount: z.number().int(),
  ticketCount: z.number().int(),
  /** The same day in the wallet's settlement currency (CNY): captured and refunded at the wallet's rate. */
  settlement: z.object({
    currency: z.string(),
    gross: reportMoney,
    refunds: reportMoney,
    net: reportMoney,
  }),
});
export type DailyTotals = z.infer<typeof dailyTotalsSchema>;

export const dailyReportSchema = z.object({
  date: z.string(),
  merchantId: z.string().optional(),
  totals: z.array(dailyTotalsSchema),
});
export type DailyReport = z.infer<typeof dailyReportSchema>;

export const occupancySchema = z.object({
  attractionId: z.string(),
  inside: z.number().int(),
  asOf: z.string(),
});

export const visitorFlowSchema = z.object({
  attractionId: z.string(),
  date: z.string(),
  interval: z.string(),
  timezone: z.string(),
  buckets: z.array(
    z.object({
      start: z.string(),
      admissions: z.number().int(),
      exits: z.number().int(),
      byGate: z.record(z.string(), z.number().int()),
    }),
  ),
  peak: z.object({ start: z.string(), admissions: z.number().int() }).nullable(),
});
