import type { Operation } from '@admit/service-kit';
import {
  dailyReportQuerySchema,
  dailyReportSchema,
  occupancyQuerySchema,
  occupancySchema,
  visitorFlowQuerySchema,
  visitorFlowSchema,
} from './reports/reports.dto';
import { feeRateBodySchema } from './ledger/fee-rates.controller';
import {
  createReconciliationSchema,
  reconciliationQuerySchema,
  reconciliationSchema,
} from './reconciliation/reconciliation.dto';

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
  {
    method: 'post',
    path: '/v1/reconciliations',
    summary:
      'Reconcile a wallet transaction or settlement file (the text as the wallet publishes it, for one GMT+8 day) against the ledger. ' +
      'Every line is matched by partner transaction id (payments: the payment id; refunds: the refund id; cancels/reversals: the wallet trade id) ' +
      'and classified matched / missingInLedger / missingInWallet / amountMismatch (amount or currency) / feeMismatch. ' +
      'Each difference is published as reconciliation.mismatch on the "reconciliations" topic. A malformed file → 422 MALFORMED_FILE naming the line.',
    scopes: ['acquirer'],
    body: createReconciliationSchema,
    responses: {
      201: { description: 'the stored reconciliation', schema: reconciliationSchema },
      422: { description: 'MALFORMED_FILE (the detail names the line) or FILE_DATE_MISMATCH' },
    },
    tags: ['reconciliation'],
  },
  {
    method: 'get',
    path: '/v1/reconciliations',
    summary: 'Stored reconciliations, newest first, with their summaries (no lines); ?date= filters on the file date',
    scopes: ['acquirer'],
    query: reconciliationQuerySchema,
    responses: { 200: { description: 'a page of reconciliations' } },
    tags: ['reconciliation'],
  },
  {
    method: 'get',
    path: '/v1/reconciliations/{id}',
    summary: 'One reconciliation with all its lines; "Accept: text/csv" → the lines as CSV (amounts in major units)',
    scopes: ['acquirer'],
    responses: {
      200: { description: 'the reconciliation', schema: reconciliationSchema },
      404: { description: 'unknown id' },
    },
    tags: ['reconciliation'],
  },
  {
    method: 'get',
    path: '/v1/merchants/{id}/fee-rate',
    summary: "The merchant discount rate (basis points) the ledger applies to the merchant's payments",
    scopes: ['acquirer'],
    responses: { 200: { description: '{ merchantId, mdrBps, isDefault }' }, 404: { description: 'unknown merchant' } },
    tags: ['fees'],
  },
  {
    method: 'put',
    path: '/v1/merchants/{id}/fee-rate',
    summary: 'Set the merchant discount rate in basis points (0–10000); applies to payments recorded afterwards',
    scopes: ['acquirer'],
    body: feeRateBodySchema,
    responses: { 200: { description: '{ merchantId, mdrBps, isDefault }' }, 404: { description: 'unknown merchant' } },
    tags: ['fees'],
  },
  {
    method: 'get',
    path: '/v1/dashboard/summary',
    summary:
      "The dashboard's data for one business date (default today in Asia/Shanghai): sales by merchant, last reconciliations, visitor flow per attraction",
    scopes: ['acquirer'],
    responses: { 200: { description: 'dashboard summary' } },
    tags: ['dashboard'],
  },
];
