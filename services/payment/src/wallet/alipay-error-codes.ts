import type { WalletFailureCode } from './wallet-gateway';

/**
 * Alipay (mapi) error codes → Admit failure codes. One row per wallet code; codes not listed map
 * to `WALLET_REJECTED`. Codes in {@link ALIPAY_UNKNOWN_OUTCOME_CODES} are never failures.
 */
export const ALIPAY_ERROR_CODE_MAP: Readonly<Record<string, WalletFailureCode>> = {
  // funds
  BUYER_BALANCE_NOT_ENOUGH: 'INSUFFICIENT_BALANCE',
  BUYER_BANKCARD_BALANCE_NOT_ENOUGH: 'INSUFFICIENT_BALANCE',
  USER_BALANCE_NOT_ENOUGH: 'INSUFFICIENT_BALANCE',
  // payment code
  EXPIRED_CODE: 'PAYMENT_CODE_EXPIRED',
  PAYMENT_CODE_EXPIRED: 'PAYMENT_CODE_EXPIRED',
  SOUNDWAVE_PARSER_FAIL: 'PAYMENT_CODE_INVALID',
  INVALID_PAYMENT_CODE: 'PAYMENT_CODE_INVALID',
  PAYMENT_AUTH_CODE_INVALID: 'PAYMENT_CODE_INVALID',
  BUYER_NOT_EXIST: 'PAYMENT_CODE_INVALID',
  // risk
  FRAUD_REJECT: 'RISK_REJECTED',
  RISK_CONTROL_REJECT: 'RISK_REJECTED',
  // buyer never paid / closed trade
  TRADE_HAS_CLOSE: 'BUYER_NOT_PAID',
  TRADE_CLOSED: 'BUYER_NOT_PAID',
  // limits
  PRODUCT_AMOUNT_LIMIT_ERROR: 'PAYMENT_LIMIT_EXCEEDED',
  TOTAL_FEE_EXCEED: 'PAYMENT_LIMIT_EXCEEDED',
  BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR: 'PAYMENT_LIMIT_EXCEEDED',
  BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR: 'PAYMENT_LIMIT_EXCEEDED',
  ERROR_BUYER_CERTIFY_LEVEL_LIMIT: 'PAYMENT_LIMIT_EXCEEDED',
  BEYOND_PAY_RESTRICTION: 'PAYMENT_LIMIT_EXCEEDED',
  USER_AMOUNT_EXCEED_LIMIT: 'PAYMENT_LIMIT_EXCEEDED',
  // buyer account
  BUYER_ENABLE_STATUS_FORBID: 'BUYER_ACCOUNT_RESTRICTED',
  MOBILE_PAYMENT_SWITCH_OFF: 'BUYER_ACCOUNT_RESTRICTED',
  USER_FACE_PAYMENT_SWITCH_OFF: 'BUYER_ACCOUNT_RESTRICTED',
  ERROR_BALANCE_PAYMENT_DISABLE: 'BUYER_ACCOUNT_RESTRICTED',
  CLIENT_VERSION_NOT_MATCH: 'BUYER_ACCOUNT_RESTRICTED',
  // partner_trans_id reuse
  CONTEXT_INCONSISTENT: 'DUPLICATE_TRANSACTION_ID',
  TRADE_BUYER_NOT_MATCH: 'DUPLICATE_TRANSACTION_ID',
  ALIN42282: 'DUPLICATE_TRANSACTION_ID',
  // trade state
  TRADE_STATUS_ERROR: 'TRADE_STATE_CONFLICT',
  TRADE_NOT_EXIST: 'PAYMENT_NOT_FOUND',
  TRANS_NOT_FOUND: 'PAYMENT_NOT_FOUND',
  TRADE_CANCEL_TIME_OUT: 'CANCEL_WINDOW_EXPIRED',
  REFUND_AMOUNT_EXCEED: 'REFUND_EXCEEDS_PAYMENT',
  // currency
  EXCHANGE_AMOUNT_OR_CURRENCY_ERROR: 'CURRENCY_NOT_SUPPORTED',
  CURRENCY_NOT_SUPPORT: 'CURRENCY_NOT_SUPPORTED',
  CURRENCY_NOT_MATCH: 'CURRENCY_NOT_SUPPORTED',
  // our request
  ILLEGAL_ARGUMENT: 'WALLET_REQUEST_INVALID',
  INVALID_PARAMETER: 'WALLET_REQUEST_INVALID',
  EXIST_FORBIDDEN_WORD: 'WALLET_REQUEST_INVALID',
  // our account / keys
  ILLEGAL_SIGN: 'WALLET_CONFIG_ERROR',
  ILLEGAL_PARTNER: 'WALLET_CONFIG_ERROR',
  ILLEGAL_SERVICE: 'WALLET_CONFIG_ERROR',
  ILLEGAL_EXTERFACE: 'WALLET_CONFIG_ERROR',
  ILLEGAL_PARTNER_EXTERFACE: 'WALLET_CONFIG_ERROR',
  ILLEGAL_SIGN_TYPE: 'WALLET_CONFIG_ERROR',
  ILLEGAL_CHARSET: 'WALLET_CONFIG_ERROR',
  ILLEGAL_CLIENT_IP: 'WALLET_CONFIG_ERROR',
  HAS_NO_PRIVILEGE: 'WALLET_CONFIG_ERROR',
  SELLER_NOT_EXIST: 'WALLET_CONFIG_ERROR',
  SECONDARY_MERCHANT_NOT_EXIST: 'WALLET_CONFIG_ERROR',
  ERROR_SELLER_CERTIFY_LEVEL_LIMIT: 'WALLET_CONFIG_ERROR',
  // other refusals
  PAYMENT_FAIL: 'WALLET_REJECTED',
  BUYER_SELLER_EQUAL: 'WALLET_REJECTED',
};

/**
 * Wallet codes that say "the outcome is not known" even when they come with `FAIL` or
 * `is_success=F`: the caller must query, never mark the payment failed (brief §2.0, §6.2).
 */
export const ALIPAY_UNKNOWN_OUTCOME_CODES: ReadonlySet<string> = new Set([
  'SYSTEM_ERROR',
  'UNKNOWN_EXCEPTION',
  'PAYMENT_IN_PROCESS',
  'REQUEST_TRAFFIC_EXCEED_LIMIT',
]);

export function mapAlipayErrorCode(walletCode: string): WalletFailureCode {
  return ALIPAY_ERROR_CODE_MAP[walletCode.trim().toUpperCase()] ?? 'WALLET_REJECTED';
}

export function isUnknownOutcomeCode(walletCode: string | undefined): boolean {
  return walletCode !== undefined && ALIPAY_UNKNOWN_OUTCOME_CODES.has(walletCode.trim().toUpperCase());
}

export type MapiResultClass = 'success' | 'fail' | 'unknown';

/**
 * Classifies a `result_code`. `SUCCESS` is success; anything starting with `FAIL` (FAIL, FAILED)
 * is a failure; anything starting with `UNKNOW` (UNKNOW, UNKNOWN) — and anything unexpected — is
 * unknown (brief §8.1: parse with prefix matching, treat anything else as unknown).
 */
export function classifyResultCode(resultCode: string | undefined): MapiResultClass {
  const code = (resultCode ?? '').trim().toUpperCase();
  if (code === 'SUCCESS') return 'success';
  if (code.startsWith('FAIL')) return 'fail';
  return 'unknown';
}

const FAILURE_MESSAGES: Readonly<Record<WalletFailureCode, string>> = {
  INSUFFICIENT_BALANCE: 'The buyer does not have enough balance for this payment.',
  PAYMENT_CODE_EXPIRED: 'The payment code has expired; ask the buyer to refresh it.',
  PAYMENT_CODE_INVALID: 'The scanned code is not a valid payment code.',
  RISK_REJECTED: 'The wallet refused the payment for risk reasons.',
  BUYER_NOT_PAID: 'The buyer did not complete the payment; the trade is closed.',
  PAYMENT_LIMIT_EXCEEDED: 'A payment limit of the buyer or the product was exceeded.',
  BUYER_ACCOUNT_RESTRICTED: "The buyer's wallet account cannot make this payment.",
  DUPLICATE_TRANSACTION_ID: 'The transaction id was already used with different data.',
  TRADE_STATE_CONFLICT: 'The wallet trade is in a state that does not allow this operation.',
  CURRENCY_NOT_SUPPORTED: 'The currency is not accepted for this operation.',
  REFUND_EXCEEDS_PAYMENT: 'The refund exceeds the amount still refundable.',
  PAYMENT_NOT_FOUND: 'The wallet does not know this payment.',
  CANCEL_WINDOW_EXPIRED: 'The payment can no longer be cancelled; refund it instead.',
  WALLET_REQUEST_INVALID: 'The wallet rejected the request as invalid.',
  WALLET_CONFIG_ERROR: 'The wallet account is misconfigured (partner, keys or privileges).',
  WALLET_REJECTED: 'The wallet rejected the operation.',
};

/** A merchant-facing message for a failure, with the wallet's code for operators. */
export function failureMessage(code: WalletFailureCode, walletCode: string): string {
  return `${FAILURE_MESSAGES[code]} (wallet code ${walletCode})`;
}
