import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Pool, PoolClient } from 'pg';
import { preSignString, walletSign, type SandboxKeys } from './sandbox-signer';
import { formatWalletAmount } from './sandbox-money';
import { beijingDateTime } from './sandbox-time';
import type { TradeRecord } from './trade-repository';

/**
 * Asynchronous notifications (brief §3): signed form POSTs to the merchant's notify_url when a
 * trade's status changes. Each is stored before it is sent; a delivery counts only when the
 * merchant answers the plain body `success`. Otherwise it is resent after 2m, 10m, 10m, 1h, 2h,
 * 6h and 15h (8 sends in all), each delay multiplied by the schedule scale. Because the queue is
 * in PostgreSQL, pending resends survive a restart of the sandbox.
 */

export const NOTIFY_RETRY_DELAYS_MS: readonly number[] = [
  2 * 60_000,
  10 * 60_000,
  10 * 60_000,
  60 * 60_000,
  2 * 3600_000,
  6 * 3600_000,
  15 * 3600_000,
];
export const NOTIFY_MAX_ATTEMPTS = NOTIFY_RETRY_DELAYS_MS.length + 1;

export type NotifyAction = 'payByAccountAction' | 'closeTradeAction' | 'reverseAction' | 'refundFPAction';

export type NotificationContext = {
  keys: SandboxKeys;
  partnerId: string;
  notifyUrlOverride?: string;
};

/** The form fields of a trade_status_sync notification for the trade's current state. */
export function tradeNotificationFields(
  trade: TradeRecord,
  action: NotifyAction,
  now: Date,
  refund?: { partnerRefundId: string; amountMinor: number; amountCnyMinor: number | null },
): Record<string, string> {
  const fields: Record<string, string> = {
    notify_id: crypto.randomBytes(16).toString('hex'),
    notify_type: 'trade_status_sync',
    notify_time: beijingDateTime(now),
    notify_action_type: action,
    partner: trade.partnerId,
    out_trade_no: trade.partnerTransId,
    trade_no: trade.alipayTransId,
    trade_status: trade.status,
    currency: trade.currency,
    trans_amount: formatWalletAmount(trade.amountMinor, trade.currency),
    gmt_create: beijingDateTime(trade.createdAt),
  };
  if (trade.paidAt !== null) fields['gmt_payment'] = beijingDateTime(trade.paidAt);
  if (trade.closedAt !== null) fields['gmt_close'] = beijingDateTime(trade.closedAt);
  if (trade.buyerUserId !== null) fields['buyer_id'] = trade.buyerUserId;
  if (trade.buyerLoginId !== null) fields['buyer_login_id'] = trade.buyerLoginId;
  if (trade.exchangeRate !== null && trade.currency !== 'CNY') fields['exchange_rate'] = trade.exchangeRate;
  if (trade.amountCnyMinor !== null && trade.currency !== 'CNY')
    fields['trans_amount_cny'] = formatWalletAmount(trade.amountCnyMinor, 'CNY');
  if (refund !== undefined) {
    fields['partner_refund_id'] = refund.partnerRefundId;
    fields['refund_amount'] = formatWalletAmount(refund.amountMinor, trade.currency);
    fields['refund_status'] = 'REFUND_SUCCESS';
    if (refund.amountCnyMinor !== null && trade.currency !== 'CNY') {
      fields['refund_amount_cny'] = formatWalletAmount(refund.amountCnyMinor, 'CNY');
    }
  }
  return fields;
}

/**
 * Queues a signed notification for the trade, in the caller's transaction. Does nothing when
 * neither the trade nor the sandbox has a notify URL.
 */
export async function enqueueNotification(
  db: PoolClient | Pool,
  ctx: NotificationContext,
  trade: TradeRecord,
  action: NotifyAction,
  now: Date,
  refund?: { partnerRefundId: string; amountMinor: number; amountCnyMinor: number | null },
): Promise<string | undefined> {
  const url = ctx.notifyUrlOverride ?? trade.notifyUrl ?? undefined;
  if (url === undefined) return undefined;
  const fields = tradeNotificationFields(trade, action, now, refund);
  const form = { ...fields, sign: walletSign(preSignString(fields), ctx.keys), sign_type: ctx.keys.signType };
  await db.query(
    `INSERT INTO sandbox_notification (notify_id, partner_id, partner_trans_id, url, form, status, attempts, next_attempt_at, created_at)
     VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)`,
    [fields['notify_id'], trade.partnerId, trade.partnerTransId, url, JSON.stringify(form), now],
  );
  return fields['notify_id'];
}

type DueNotification = { id: string; url: string; form: Record<string, string>; attempts: number };

export type DeliveryOptions = {
  scheduleScale: number;
  timeoutMs: number;
  now: () => Date;
  log: (line: string) => void;
};

/** Claims due notifications (a lease, so a crash mid-delivery leads to a resend) and sends them. */
export async function deliverDueNotifications(
  pool: Pool,
  partnerId: string,
  options: DeliveryOptions,
  batch = 20,
): Promise<number> {
  const now = options.now();
  const lease = new Date(now.getTime() + options.timeoutMs + 5_000);
  // Each sandbox delivers the notifications of its own partner only.
  const claimed = await pool.query<{ id: string; url: string; form: Record<string, string>; attempts: number }>(
    `UPDATE sandbox_notification SET attempts = attempts + 1, next_attempt_at = $2, last_attempt_at = $1
     WHERE id IN (
       SELECT id FROM sandbox_notification WHERE status = 'pending' AND partner_id = $4 AND next_attempt_at <= $1
       ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING id, url, form, attempts`,
    [now, lease, batch, partnerId],
  );
  const due: DueNotification[] = claimed.rows;
  await Promise.all(
    due.map(async (n) => {
      const outcome = await postNotification(n.url, n.form, options.timeoutMs);
      const at = options.now();
      if (outcome === 'success') {
        await pool.query(
          `UPDATE sandbox_notification SET status = 'delivered', delivered_at = $2, last_error = NULL WHERE id = $1`,
          [n.id, at],
        );
        return;
      }
      const delay = NOTIFY_RETRY_DELAYS_MS[n.attempts - 1];
      if (delay === undefined || n.attempts >= NOTIFY_MAX_ATTEMPTS) {
        await pool.query(`UPDATE sandbox_notification SET status = 'failed', last_error = $2 WHERE id = $1`, [
          n.id,
          outcome,
        ]);
        options.log(`notification ${n.form['notify_id'] ?? n.id} given up after ${n.attempts} attempts: ${outcome}`);
        return;
      }
      const next = new Date(at.getTime() + Math.max(1, Math.round(delay * options.scheduleScale)));
      await pool.query(`UPDATE sandbox_notification SET next_attempt_at = $2, last_error = $3 WHERE id = $1`, [
        n.id,
        next,
        outcome,
      ]);
    }),
  );
  return due.length;
}

/** POSTs the form; returns 'success' or a description of what went wrong. */
async function postNotification(url: string, form: Record<string, string>, timeoutMs: number): Promise<string> {
  const body = Buffer.from(new URLSearchParams(form).toString(), 'utf8');
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return `bad url ${url}`;
  }
  const transport = target.protocol === 'https:' ? https : http;
  return await new Promise<string>((resolve) => {
    const req = transport.request(
      target,
      {
        method: 'POST',
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          'content-type': 'application/x-www-form-urlencoded; charset=UTF-8',
          'content-length': String(body.length),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= 4096) chunks.push(chunk);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8').trim();
          resolve(
            res.statusCode === 200 && text === 'success'
              ? 'success'
              : `HTTP ${res.statusCode ?? 0}: ${text.slice(0, 100)}`,
          );
        });
        res.on('error', (err) => resolve(`response error: ${err.message}`));
      },
    );
    req.on('error', (err) => resolve(`request error: ${err.message}`));
    req.end(body);
  });
}

export type NotificationRecord = {
  notifyId: string;
  partnerTransId: string;
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  form: Record<string, string>;
};

export async function listNotifications(
  pool: Pool,
  partnerId: string,
  partnerTransId?: string,
): Promise<NotificationRecord[]> {
  const result = await pool.query<{
    notify_id: string;
    partner_trans_id: string;
    url: string;
    status: 'pending' | 'delivered' | 'failed';
    attempts: number;
    next_attempt_at: Date;
    last_error: string | null;
    form: Record<string, string>;
  }>(
    partnerTransId === undefined
      ? 'SELECT * FROM sandbox_notification WHERE partner_id = $1 ORDER BY id DESC LIMIT 200'
      : 'SELECT * FROM sandbox_notification WHERE partner_id = $1 AND partner_trans_id = $2 ORDER BY id',
    partnerTransId === undefined ? [partnerId] : [partnerId, partnerTransId],
  );
  return result.rows.map((r) => ({
    notifyId: r.notify_id,
    partnerTransId: r.partner_trans_id,
    url: r.url,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    form: r.form,
  }));
}
