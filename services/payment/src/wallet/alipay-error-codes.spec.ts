import {
  ALIPAY_ERROR_CODE_MAP,
  classifyResultCode,
  failureMessage,
  isUnknownOutcomeCode,
  mapAlipayErrorCode,
} from './alipay-error-codes';
import type { WalletFailureCode } from './wallet-gateway';

/** The expected mapping, written out independently of the table under test: one row per wallet code. */
const EXPECTED: ReadonlyArray<[string, WalletFailureCode]> = [
  ['BUYER_BALANCE_NOT_ENOUGH', 'INSUFFICIENT_BALANCE'],
  ['BUYER_BANKCARD_BALANCE_NOT_ENOUGH', 'INSUFFICIENT_BALANCE'],
  ['USER_BALANCE_NOT_ENOUGH', 'INSUFFICIENT_BALANCE'],
  ['EXPIRED_CODE', 'PAYMENT_CODE_EXPIRED'],
  ['PAYMENT_CODE_EXPIRED', 'PAYMENT_CODE_EXPIRED'],
  ['SOUNDWAVE_PARSER_FAIL', 'PAYMENT_CODE_INVALID'],
  ['INVALID_PAYMENT_CODE', 'PAYMENT_CODE_INVALID'],
  ['PAYMENT_AUTH_CODE_INVALID', 'PAYMENT_CODE_INVALID'],
  ['BUYER_NOT_EXIST', 'PAYMENT_CODE_INVALID'],
  ['FRAUD_REJECT', 'RISK_REJECTED'],
  ['RISK_CONTROL_REJECT', 'RISK_REJECTED'],
  ['TRADE_HAS_CLOSE', 'BUYER_NOT_PAID'],
  ['TRADE_CLOSED', 'BUYER_NOT_PAID'],
  ['PRODUCT_AMOUNT_LIMIT_ERROR', 'PAYMENT_LIMIT_EXCEEDED'],
  ['TOTAL_FEE_EXCEED', 'PAYMENT_LIMIT_EXCEEDED'],
  ['BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR', 'PAYMENT_LIMIT_EXCEEDED'],
  ['BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR', 'PAYMENT_LIMIT_EXCEEDED'],
  ['ERROR_BUYER_CERTIFY_LEVEL_LIMIT', 'PAYMENT_LIMIT_EXCEEDED'],
  ['BEYOND_PAY_RESTRICTION', 'PAYMENT_LIMIT_EXCEEDED'],
  ['USER_AMOUNT_EXCEED_LIMIT', 'PAYMENT_LIMIT_EXCEEDED'],
  ['BUYER_ENABLE_STATUS_FORBID', 'BUYER_ACCOUNT_RESTRICTED'],
  ['MOBILE_PAYMENT_SWITCH_OFF', 'BUYER_ACCOUNT_RESTRICTED'],
  ['USER_FACE_PAYMENT_SWITCH_OFF', 'BUYER_ACCOUNT_RESTRICTED'],
  ['ERROR_BALANCE_PAYMENT_DISABLE', 'BUYER_ACCOUNT_RESTRICTED'],
  ['CLIENT_VERSION_NOT_MATCH', 'BUYER_ACCOUNT_RESTRICTED'],
  ['CONTEXT_INCONSISTENT', 'DUPLICATE_TRANSACTION_ID'],
  ['TRADE_BUYER_NOT_MATCH', 'DUPLICATE_TRANSACTION_ID'],
  ['ALIN42282', 'DUPLICATE_TRANSACTION_ID'],
  ['TRADE_STATUS_ERROR', 'TRADE_STATE_CONFLICT'],
  ['TRADE_NOT_EXIST', 'PAYMENT_NOT_FOUND'],
  ['TRANS_NOT_FOUND', 'PAYMENT_NOT_FOUND'],
  ['TRADE_CANCEL_TIME_OUT', 'CANCEL_WINDOW_EXPIRED'],
  ['REFUND_AMOUNT_EXCEED', 'REFUND_EXCEEDS_PAYMENT'],
  ['EXCHANGE_AMOUNT_OR_CURRENCY_ERROR', 'CURRENCY_NOT_SUPPORTED'],
  ['CURRENCY_NOT_SUPPORT', 'CURRENCY_NOT_SUPPORTED'],
  ['CURRENCY_NOT_MATCH', 'CURRENCY_NOT_SUPPORTED'],
  ['ILLEGAL_ARGUMENT', 'WALLET_REQUEST_INVALID'],
  ['INVALID_PARAMETER', 'WALLET_REQUEST_INVALID'],
  ['EXIST_FORBIDDEN_WORD', 'WALLET_REQUEST_INVALID'],
  ['ILLEGAL_SIGN', 'WALLET_CONFIG_ERROR'],
  ['ILLEGAL_PARTNER', 'WALLET_CONFIG_ERROR'],
  ['ILLEGAL_SERVICE', 'WALLET_CONFIG_ERROR'],
  ['ILLEGAL_EXTERFACE', 'WALLET_CONFIG_ERROR'],
  ['ILLEGAL_PARTNER_EXTERFACE', 'WALLET_CONFIG_ERROR'],
  ['ILLEGAL_SIGN_TYPE', 'WALLET_CONFIG_ERROR'],
  ['ILLEGAL_CHARSET', 'WALLET_CONFIG_ERROR'],
  ['ILLEGAL_CLIENT_IP', 'WALLET_CONFIG_ERROR'],
  ['HAS_NO_PRIVILEGE', 'WALLET_CONFIG_ERROR'],
  ['SELLER_NOT_EXIST', 'WALLET_CONFIG_ERROR'],
  ['ERROR_SELLER_CERTIFY_LEVEL_LIMIT', 'WALLET_CONFIG_ERROR'],
  ['SECONDARY_MERCHANT_NOT_EXIST', 'WALLET_CONFIG_ERROR'],
  ['PAYMENT_FAIL', 'WALLET_REJECTED'],
  ['BUYER_SELLER_EQUAL', 'WALLET_REJECTED'],
];

describe('Alipay error code → Admit failure code', () => {
  it.each(EXPECTED)('%s → %s', (walletCode, admitCode) => {
    expect(mapAlipayErrorCode(walletCode)).toBe(admitCode);
  });

  it('has a test row for every row of the table, and no extra rows', () => {
    expect(Object.keys(ALIPAY_ERROR_CODE_MAP).sort()).toEqual(EXPECTED.map(([code]) => code).sort());
  });

  it('maps codes it does not know to WALLET_REJECTED, ignoring case and spaces', () => {
    expect(mapAlipayErrorCode('SOMETHING_NEW')).toBe('WALLET_REJECTED');
    expect(mapAlipayErrorCode(' buyer_balance_not_enough ')).toBe('INSUFFICIENT_BALANCE');
  });

  it('treats SYSTEM_ERROR and in-process codes as unknown outcomes, never as failures', () => {
    for (const code of [
      'SYSTEM_ERROR',
      'system_error',
      'UNKNOWN_EXCEPTION',
      'PAYMENT_IN_PROCESS',
      'REQUEST_TRAFFIC_EXCEED_LIMIT',
    ]) {
      expect(isUnknownOutcomeCode(code)).toBe(true);
    }
    expect(isUnknownOutcomeCode('BUYER_BALANCE_NOT_ENOUGH')).toBe(false);
    expect(isUnknownOutcomeCode(undefined)).toBe(false);
  });

  it('writes a message that names the wallet code', () => {
    expect(failureMessage('INSUFFICIENT_BALANCE', 'BUYER_BALANCE_NOT_ENOUGH')).toMatch(
      /balance.*BUYER_BALANCE_NOT_ENOUGH/,
    );
  });
});

describe('result_code classification (prefix matching)', () => {
  it.each([
    ['SUCCESS', 'success'],
    ['success', 'success'],
    ['FAIL', 'fail'],
    ['FAILED', 'fail'],
    ['FAILURE', 'fail'],
    ['UNKNOW', 'unknown'],
    ['UNKNOWN', 'unknown'],
    ['PROCESSING', 'unknown'],
    ['', 'unknown'],
    [undefined, 'unknown'],
  ])('%s → %s', (resultCode, expected) => {
    expect(classifyResultCode(resultCode)).toBe(expected);
  });
});
