import type { Money } from '@admit/contracts';

/**
 * The wallet port of the payment service.
 *
 * The payment flow talks to a wallet only through this interface, so another wallet can be added
 * by writing one more implementation (see `AlipayMapiGateway` for Alipay overseas acquiring).
 *
 * Rules every implementation follows:
 * - No method throws for a wallet or network problem. Every outcome is a value of the method's
 *   result union. Methods throw only for programming errors (for example a broken configuration
 *   detected at construction time).
 * - `unknown` means "the wallet may or may not have acted": the caller must resolve it with
 *   {@link WalletGateway.query} (and, at the end of its window, {@link WalletGateway.cancel}),
 *   never by re-sending `pay` and never by marking the payment failed.
 * - `failed` is definitive: the wallet confirmed nothing happened (for `pay`) or refused the
 *   operation. It carries an Admit failure code ({@link WalletFailureCode}) that is safe to show
 *   to a merchant, plus the wallet's own code for operators.
 */
export type WalletGateway = {
  /** Short stable name of the wallet ("alipay"), used in logs, metrics and routes. */
  readonly walletName: string;

  /** The plain body the wallet expects in answer to an accepted notification (`success` for Alipay). */
  readonly notificationAckBody: string;

  /** Registers (or updates) a merchant and one of its stores with the wallet. */
  registerMerchant(input: RegisterMerchantInput): Promise<RegisterMerchantResult>;

  /** Charges a payment code the cashier scanned. Store `partnerTransId` before calling. */
  pay(input: PayInput): Promise<PayResult>;

  /** Reads the wallet's state of a payment by the partner transaction id used in `pay`. */
  query(partnerTransId: string): Promise<QueryResult>;

  /**
   * Cancels a payment: closes it when unpaid, reverses it when paid (only on the wallet's
   * cancel day). On `retry` call again after a short wait; on `failed` raise an alarm.
   */
  cancel(partnerTransId: string): Promise<CancelResult>;

  /** Refunds part or all of a paid payment. On `unknown` retry with the same `partnerRefundId`. */
  refund(input: RefundInput): Promise<RefundResult>;

  /**
   * Verifies and parses an asynchronous notification (the posted form fields). A `verified`
   * notification is still only a hint: confirm the state with {@link WalletGateway.query}.
   */
  verifyNotification(form: Record<string, string>): NotificationVerification;
};

/**
 * Failure codes Admit exposes for wallet refusals (`payment.failure.code` and refund/cancel
 * failures). Wallet-specific codes are translated into these by each adapter.
 */
export type WalletFailureCode =
  /** The buyer's balance or card cannot cover the amount. */
  | 'INSUFFICIENT_BALANCE'
  /** The payment code was valid once but has expired; the buyer must refresh it. */
  | 'PAYMENT_CODE_EXPIRED'
  /** The scanned code is not a payment code this wallet recognises. */
  | 'PAYMENT_CODE_INVALID'
  /** The wallet's risk engine refused the payment. */
  | 'RISK_REJECTED'
  /** The buyer never completed the payment, or the trade is closed. */
  | 'BUYER_NOT_PAID'
  /** A buyer, product or daily/monthly limit was exceeded. */
  | 'PAYMENT_LIMIT_EXCEEDED'
  /** The buyer's account cannot pay this way (disabled code payments, old app, frozen account). */
  | 'BUYER_ACCOUNT_RESTRICTED'
  /** The partner transaction id was already used with different data (amount, buyer). */
  | 'DUPLICATE_TRANSACTION_ID'
  /** The trade is in a state that does not allow the operation. */
  | 'TRADE_STATE_CONFLICT'
  /** The currency is not accepted, or differs from the payment's currency. */
  | 'CURRENCY_NOT_SUPPORTED'
  /** The refund would take the refunded total above the paid amount. */
  | 'REFUND_EXCEEDS_PAYMENT'
  /** The wallet does not know the payment. */
  | 'PAYMENT_NOT_FOUND'
  /** A paid payment can no longer be cancelled (outside the wallet's cancel day); refund instead. */
  | 'CANCEL_WINDOW_EXPIRED'
  /** Our request was malformed (parameters, amount precision, forbidden words). */
  | 'WALLET_REQUEST_INVALID'
  /** Our wallet account or keys are misconfigured (signature, partner, privileges). */
  | 'WALLET_CONFIG_ERROR'
  /** Any other refusal by the wallet. */
  | 'WALLET_REJECTED';

export type WalletMerchant = {
  /** Admit's id for the merchant (the wallet's "secondary merchant"). */
  id: string;
  /** Registered name; shown in the buyer's wallet and in the wallet's files. */
  name: string;
  /** 4-digit merchant category code, e.g. 7991 for tourist attractions. */
  mcc: string;
  storeId?: string;
  storeName?: string;
};

export type RegisterMerchantInput = WalletMerchant & {
  storeId: string;
  storeName: string;
  /** ISO 3166-1 alpha-2 country of the store. */
  country: string;
  address?: string;
  merchantType?: 'INDIVIDUAL' | 'ENTERPRISE';
  registrationNo?: string;
  contactEmail?: string;
  contactPhone?: string;
};

export type RegisterMerchantResult =
  | { kind: 'registered' }
  | { kind: 'failed'; code: WalletFailureCode; message: string; walletCode: string }
  | { kind: 'unknown'; reason: string };

export type PayInput = {
  /** Unique id of this payment attempt (≤ 64 chars, letters, digits, `_`, `-`). */
  partnerTransId: string;
  amount: Money;
  /** The numeric code the cashier scanned from the buyer's wallet app. */
  paymentCode: string;
  /** Transaction name shown in the buyer's wallet bill list and in the wallet's files. */
  subject: string;
  merchant: WalletMerchant;
};

/** Details of a paid trade, common to `pay` and `query`. */
export type WalletPaidTrade = {
  walletTransactionId: string;
  paidAt: Date;
  /** Rate from the payment currency to the buyer's currency, as the wallet sent it (decimal text). */
  exchangeRate?: string;
  /** The exact amount the buyer paid in the wallet's currency (CNY for Alipay). */
  settlementAmount?: Money;
  buyerUserId?: string;
  buyerLoginId?: string;
};

export type PayResult =
  | ({ kind: 'succeeded' } & WalletPaidTrade)
  | { kind: 'failed'; code: WalletFailureCode; message: string; walletCode: string }
  | { kind: 'unknown'; reason: string };

export type QueryResult =
  | ({ kind: 'paid'; amount?: Money } & WalletPaidTrade)
  | { kind: 'waiting'; walletTransactionId?: string }
  | { kind: 'closed'; walletTransactionId?: string }
  | { kind: 'not_found' }
  | { kind: 'unknown'; reason: string };

export type CancelResult =
  /** `action` tells what the wallet did: `close` (unpaid trade closed) or `refund` (paid trade reversed). */
  | { kind: 'cancelled'; action?: 'close' | 'refund' }
  | { kind: 'retry'; reason: string }
  | { kind: 'failed'; code: WalletFailureCode; message: string; walletCode: string };

export type RefundInput = {
  partnerTransId: string;
  /** Unique id of this refund; must differ from `partnerTransId`. Reuse it only to retry the same refund. */
  partnerRefundId: string;
  /** In the payment's currency. */
  amount: Money;
  reason?: string;
};

export type RefundResult =
  | {
      kind: 'succeeded';
      amount: Money;
      walletTransactionId?: string;
      exchangeRate?: string;
      /** The refunded amount in the wallet's currency (CNY for Alipay), when the wallet tells it. */
      settlementAmount?: Money;
    }
  | { kind: 'failed'; code: WalletFailureCode; message: string; walletCode: string }
  | { kind: 'unknown'; reason: string };

export type WalletTradeStatus = 'WAIT_BUYER_PAY' | 'TRADE_SUCCESS' | 'TRADE_CLOSED';

/** A notification whose signature was verified. */
export type WalletNotification = {
  notifyId: string;
  notifyType: string;
  notifyTime?: Date;
  /** e.g. `payByAccountAction`, `closeTradeAction`, `reverseAction`, `refundFPAction`. */
  action?: string;
  partnerTransId: string;
  walletTransactionId?: string;
  tradeStatus?: WalletTradeStatus;
  amount?: Money;
  paidAt?: Date;
  exchangeRate?: string;
  settlementAmount?: Money;
  /** All posted fields except `sign`/`sign_type`, for audit. */
  fields: Record<string, string>;
};

export type NotificationRejection =
  'missing_signature' | 'unsupported_sign_type' | 'bad_signature' | 'partner_mismatch' | 'malformed';

export type NotificationVerification =
  | { kind: 'verified'; notification: WalletNotification }
  | { kind: 'rejected'; reason: NotificationRejection; message: string };
