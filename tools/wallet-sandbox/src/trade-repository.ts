import type { Pool, PoolClient } from 'pg';

export type TradeStatus = 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_CLOSED';

/** One wallet trade as the sandbox stores it. Amounts in minor units. */
export type TradeRecord = {
  partnerId: string;
  partnerTransId: string;
  alipayTransId: string;
  behaviour: string;
  status: TradeStatus;
  failCode: string | null;
  buyerIdentityCode: string | null;
  buyerUserId: string | null;
  buyerLoginId: string | null;
  currency: string;
  amountMinor: number;
  transName: string;
  exchangeRate: string | null;
  amountCnyMinor: number | null;
  feeMinor: number;
  secondaryMerchantId: string | null;
  secondaryMerchantName: string | null;
  secondaryMerchantIndustry: string | null;
  storeId: string | null;
  storeName: string | null;
  notifyUrl: string | null;
  createdAt: Date;
  confirmAt: Date | null;
  paidAt: Date | null;
  closedAt: Date | null;
  closeAction: 'close' | 'refund' | 'refunded' | null;
  reversalType: 'CANCEL' | 'REVERSAL' | null;
  refundedMinor: number;
  answeredSuccess: boolean;
  payCalls: number;
};

export type RefundRecord = {
  partnerId: string;
  partnerRefundId: string;
  partnerTransId: string;
  alipayTransId: string;
  currency: string;
  amountMinor: number;
  amountCnyMinor: number | null;
  exchangeRate: string | null;
  reason: string | null;
  createdAt: Date;
};

type Row = Record<string, unknown>;
type Queryable = Pool | PoolClient;

function str(row: Row, key: string): string {
  const v = row[key];
  if (typeof v !== 'string') throw new Error(`column ${key} is not text`);
  return v;
}
function strOrNull(row: Row, key: string): string | null {
  const v = row[key];
  return typeof v === 'string' ? v : null;
}
function num(row: Row, key: string): number {
  const v = row[key];
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`column ${key} is not an integer`);
  return n;
}
function numOrNull(row: Row, key: string): number | null {
  return row[key] === null || row[key] === undefined ? null : num(row, key);
}
function date(row: Row, key: string): Date {
  const v = row[key];
  if (!(v instanceof Date)) throw new Error(`column ${key} is not a timestamp`);
  return v;
}
function dateOrNull(row: Row, key: string): Date | null {
  const v = row[key];
  return v instanceof Date ? v : null;
}

export function tradeFromRow(row: Row): TradeRecord {
  const closeAction = strOrNull(row, 'close_action');
  const reversalType = strOrNull(row, 'reversal_type');
  return {
    partnerId: str(row, 'partner_id'),
    partnerTransId: str(row, 'partner_trans_id'),
    alipayTransId: str(row, 'alipay_trans_id'),
    behaviour: str(row, 'behaviour'),
    status: str(row, 'status') as TradeStatus,
    failCode: strOrNull(row, 'fail_code'),
    buyerIdentityCode: strOrNull(row, 'buyer_identity_code'),
    buyerUserId: strOrNull(row, 'buyer_user_id'),
    buyerLoginId: strOrNull(row, 'buyer_login_id'),
    currency: str(row, 'currency'),
    amountMinor: num(row, 'amount_minor'),
    transName: str(row, 'trans_name'),
    exchangeRate: strOrNull(row, 'exchange_rate'),
    amountCnyMinor: numOrNull(row, 'amount_cny_minor'),
    feeMinor: num(row, 'fee_minor'),
    secondaryMerchantId: strOrNull(row, 'secondary_merchant_id'),
    secondaryMerchantName: strOrNull(row, 'secondary_merchant_name'),
    secondaryMerchantIndustry: strOrNull(row, 'secondary_merchant_industry'),
    storeId: strOrNull(row, 'store_id'),
    storeName: strOrNull(row, 'store_name'),
    notifyUrl: strOrNull(row, 'notify_url'),
    createdAt: date(row, 'created_at'),
    confirmAt: dateOrNull(row, 'confirm_at'),
    paidAt: dateOrNull(row, 'paid_at'),
    closedAt: dateOrNull(row, 'closed_at'),
    closeAction: closeAction === 'close' || closeAction === 'refund' || closeAction === 'refunded' ? closeAction : null,
    reversalType: reversalType === 'CANCEL' || reversalType === 'REVERSAL' ? reversalType : null,
    refundedMinor: num(row, 'refunded_minor'),
    answeredSuccess: row['answered_success'] === true,
    payCalls: num(row, 'pay_calls'),
  };
}

export function refundFromRow(row: Row): RefundRecord {
  return {
    partnerId: str(row, 'partner_id'),
    partnerRefundId: str(row, 'partner_refund_id'),
    partnerTransId: str(row, 'partner_trans_id'),
    alipayTransId: str(row, 'alipay_trans_id'),
    currency: str(row, 'currency'),
    amountMinor: num(row, 'amount_minor'),
    amountCnyMinor: numOrNull(row, 'amount_cny_minor'),
    exchangeRate: strOrNull(row, 'exchange_rate'),
    reason: strOrNull(row, 'reason'),
    createdAt: date(row, 'created_at'),
  };
}

export type NewTrade = Omit<
  TradeRecord,
  'refundedMinor' | 'answeredSuccess' | 'payCalls' | 'closeAction' | 'reversalType'
> & {
  closeAction?: 'close' | null;
};

/** Inserts a trade unless one exists with the same partner + partner_trans_id; returns it or undefined. */
export async function insertTrade(db: Queryable, t: NewTrade): Promise<TradeRecord | undefined> {
  const result = await db.query(
    `INSERT INTO sandbox_trade (partner_id, partner_trans_id, alipay_trans_id, behaviour, status, fail_code,
       buyer_identity_code, buyer_user_id, buyer_login_id, currency, amount_minor, trans_name, exchange_rate,
       amount_cny_minor, fee_minor, secondary_merchant_id, secondary_merchant_name, secondary_merchant_industry,
       store_id, store_name, notify_url, created_at, confirm_at, paid_at, closed_at, close_action, pay_calls)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,1)
     ON CONFLICT (partner_id, partner_trans_id) DO NOTHING
     RETURNING *`,
    [
      t.partnerId,
      t.partnerTransId,
      t.alipayTransId,
      t.behaviour,
      t.status,
      t.failCode,
      t.buyerIdentityCode,
      t.buyerUserId,
      t.buyerLoginId,
      t.currency,
      t.amountMinor,
      t.transName,
      t.exchangeRate,
      t.amountCnyMinor,
      t.feeMinor,
      t.secondaryMerchantId,
      t.secondaryMerchantName,
      t.secondaryMerchantIndustry,
      t.storeId,
      t.storeName,
      t.notifyUrl,
      t.createdAt,
      t.confirmAt,
      t.paidAt,
      t.closedAt,
      t.closeAction ?? null,
    ],
  );
  const row = result.rows[0] as Row | undefined;
  return row === undefined ? undefined : tradeFromRow(row);
}

export async function findTrade(
  db: Queryable,
  partnerId: string,
  by: { partnerTransId?: string; alipayTransId?: string },
  forUpdate = false,
): Promise<TradeRecord | undefined> {
  const lock = forUpdate ? ' FOR UPDATE' : '';
  const result =
    by.alipayTransId !== undefined
      ? await db.query(`SELECT * FROM sandbox_trade WHERE partner_id = $1 AND alipay_trans_id = $2${lock}`, [
          partnerId,
          by.alipayTransId,
        ])
      : await db.query(`SELECT * FROM sandbox_trade WHERE partner_id = $1 AND partner_trans_id = $2${lock}`, [
          partnerId,
          by.partnerTransId ?? '',
        ]);
  const row = result.rows[0] as Row | undefined;
  return row === undefined ? undefined : tradeFromRow(row);
}

export async function findRefund(
  db: Queryable,
  partnerId: string,
  partnerRefundId: string,
): Promise<RefundRecord | undefined> {
  const result = await db.query('SELECT * FROM sandbox_refund WHERE partner_id = $1 AND partner_refund_id = $2', [
    partnerId,
    partnerRefundId,
  ]);
  const row = result.rows[0] as Row | undefined;
  return row === undefined ? undefined : refundFromRow(row);
}

export async function listRefundsOfTrade(
  db: Queryable,
  partnerId: string,
  partnerTransId: string,
): Promise<RefundRecord[]> {
  const result = await db.query(
    'SELECT * FROM sandbox_refund WHERE partner_id = $1 AND partner_trans_id = $2 ORDER BY created_at, partner_refund_id',
    [partnerId, partnerTransId],
  );
  return (result.rows as Row[]).map(refundFromRow);
}

export async function insertRefund(db: Queryable, r: RefundRecord): Promise<void> {
  await db.query(
    `INSERT INTO sandbox_refund (partner_id, partner_refund_id, partner_trans_id, alipay_trans_id, currency, amount_minor,
       amount_cny_minor, exchange_rate, reason, created_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
    [
      r.partnerId,
      r.partnerRefundId,
      r.partnerTransId,
      r.alipayTransId,
      r.currency,
      r.amountMinor,
      r.amountCnyMinor,
      r.exchangeRate,
      r.reason,
      r.createdAt,
    ],
  );
}

export async function markAnswered(
  db: Queryable,
  partnerId: string,
  partnerTransId: string,
  success: boolean,
): Promise<void> {
  await db.query(
    'UPDATE sandbox_trade SET pay_calls = pay_calls + 1, answered_success = answered_success OR $3 WHERE partner_id = $1 AND partner_trans_id = $2',
    [partnerId, partnerTransId, success],
  );
}

export async function setAnsweredSuccess(db: Queryable, partnerId: string, partnerTransId: string): Promise<void> {
  await db.query('UPDATE sandbox_trade SET answered_success = true WHERE partner_id = $1 AND partner_trans_id = $2', [
    partnerId,
    partnerTransId,
  ]);
}

/** Trades whose buyer confirmation time has come: WAIT_BUYER_PAY → TRADE_SUCCESS. Returns them. */
export async function promoteConfirmedTrades(db: Queryable, partnerId: string, now: Date): Promise<TradeRecord[]> {
  const result = await db.query(
    `UPDATE sandbox_trade SET status = 'TRADE_SUCCESS', paid_at = confirm_at, confirm_at = NULL
     WHERE partner_id = $2 AND status = 'WAIT_BUYER_PAY' AND confirm_at IS NOT NULL AND confirm_at <= $1
     RETURNING *`,
    [now, partnerId],
  );
  return (result.rows as Row[]).map(tradeFromRow);
}

export async function closeTrade(
  db: Queryable,
  trade: TradeRecord,
  closedAt: Date,
  action: 'close' | 'refund' | 'refunded',
  reversalType: 'CANCEL' | 'REVERSAL' | null,
): Promise<TradeRecord> {
  const result = await db.query(
    `UPDATE sandbox_trade SET status = 'TRADE_CLOSED', closed_at = $3, close_action = $4, reversal_type = $5, confirm_at = NULL
     WHERE partner_id = $1 AND partner_trans_id = $2 RETURNING *`,
    [trade.partnerId, trade.partnerTransId, closedAt, action, reversalType],
  );
  return tradeFromRow(result.rows[0] as Row);
}

export async function addRefunded(db: Queryable, trade: TradeRecord, amountMinor: number): Promise<TradeRecord> {
  const result = await db.query(
    `UPDATE sandbox_trade SET refunded_minor = refunded_minor + $3 WHERE partner_id = $1 AND partner_trans_id = $2 RETURNING *`,
    [trade.partnerId, trade.partnerTransId, amountMinor],
  );
  return tradeFromRow(result.rows[0] as Row);
}

export type TradeFilter = {
  partnerId: string;
  partnerTransId?: string;
  dayStart?: Date;
  dayEnd?: Date;
  status?: string;
};

export async function listTrades(db: Queryable, filter: TradeFilter, limit = 500): Promise<TradeRecord[]> {
  const where = ['partner_id = $1'];
  const args: unknown[] = [filter.partnerId];
  if (filter.partnerTransId !== undefined) {
    args.push(filter.partnerTransId);
    where.push(`partner_trans_id = $${args.length}`);
  }
  if (filter.dayStart !== undefined && filter.dayEnd !== undefined) {
    args.push(filter.dayStart, filter.dayEnd);
    where.push(`created_at >= $${args.length - 1} AND created_at < $${args.length}`);
  }
  if (filter.status !== undefined) {
    args.push(filter.status);
    where.push(`status = $${args.length}`);
  }
  args.push(limit);
  const result = await db.query(
    `SELECT * FROM sandbox_trade WHERE ${where.join(' AND ')} ORDER BY created_at, partner_trans_id LIMIT $${args.length}`,
    args,
  );
  return (result.rows as Row[]).map(tradeFromRow);
}

export async function upsertSecondaryMerchant(
  db: Queryable,
  m: {
    partnerId: string;
    secondaryMerchantId: string;
    storeId: string;
    name: string;
    storeName: string | null;
    storeIndustry: string | null;
    fields: Record<string, string>;
    at: Date;
  },
): Promise<'created' | 'updated'> {
  const result = await db.query<{ inserted: boolean }>(
    `INSERT INTO sandbox_secondary_merchant (partner_id, secondary_merchant_id, store_id, secondary_merchant_name, store_name,
       store_industry, fields, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$8)
     ON CONFLICT (partner_id, secondary_merchant_id, store_id) DO UPDATE SET
       secondary_merchant_name = EXCLUDED.secondary_merchant_name, store_name = EXCLUDED.store_name,
       store_industry = EXCLUDED.store_industry, fields = EXCLUDED.fields, updated_at = EXCLUDED.updated_at
     RETURNING (xmax = 0) AS inserted`,
    [
      m.partnerId,
      m.secondaryMerchantId,
      m.storeId,
      m.name,
      m.storeName,
      m.storeIndustry,
      JSON.stringify(m.fields),
      m.at,
    ],
  );
  return result.rows[0]?.inserted === true ? 'created' : 'updated';
}

export async function isRegistered(
  db: Queryable,
  partnerId: string,
  secondaryMerchantId: string,
  storeId: string | null,
): Promise<boolean> {
  const result =
    storeId === null
      ? await db.query(
          'SELECT 1 FROM sandbox_secondary_merchant WHERE partner_id = $1 AND secondary_merchant_id = $2 LIMIT 1',
          [partnerId, secondaryMerchantId],
        )
      : await db.query(
          'SELECT 1 FROM sandbox_secondary_merchant WHERE partner_id = $1 AND secondary_merchant_id = $2 AND store_id = $3',
          [partnerId, secondaryMerchantId, storeId],
        );
  return (result.rowCount ?? 0) > 0;
}
