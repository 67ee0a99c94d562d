import type { Operation } from '@admit/service-kit';
import {
  dailyReportQuerySchema,
  dailyReportSchema,
  occupancyQuerySchema,
  occupancySchema,
  visitorFlowQuerySchema,
  visitorFlowSchema,
} from './reports/reports.dto';

export const REPORTING_OPERATIONS: Operation[] = [
  {
    method: 'get',
    path: '/v1/reports/daily',
    summary:
      "Daily bill by currency for one business date (in each merchant's time zone): gross, discounts, refunds, fees, net and counts. " +
      'A merchant key always gets its own figures; an acquirer key gets one merchant (merchantId) or all merchants summed per currency. ' +
      'Send "Accept: text/csv" for CSV (amounts in major units).',
    scopes: ['acquirer', 'merchant'],
    query: dailyReportQuerySchema,
    responses: {
      200: { description: 'daily report (or CSV with Accept: text/csv)', schema: dailyReportSchema },
      404: { description: 'acquirer asked for an unknown merchant' },
    },
    tags: ['reports'],
  },
  {
    method: 'get',
    path: '/v1/reports/occupancy',
    summary: 'Visitors inside an attraction now: admitted entries minus admitted exits (never below zero)',
    scopes: ['merchant', 'acquirer'],
    query: occupancyQuerySchema,
    responses: {
      200: { description: 'occupancy', schema: occupancySchema },
      404: { description: "unknown attraction, or another merchant's" },
    },
    tags: ['reports'],
  },
  {
    method: 'get',
    path: '/v1/reports/visitor-flow',
    summary:
      "Admissions and exits per interval (default 15m) and admissions per gate over one calendar day in the attraction's time zone, " +
      'with the peak interval (null when nobody was admitted). Bucket starts are UTC instants.',
    scopes: ['merchant', 'acquirer'],
    query: visitorFlowQuerySchema,
    responses: {
      200: { description: 'visitor flow', schema: visitorFlowSchema },
      404: { description: "unknown attraction, or another merchant's" },
    },
    tags: ['reports'],
  },
];
