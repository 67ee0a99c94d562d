/**
 * What the sandbox does with a payment code, chosen by the code's LAST FOUR digits.
 * Codes must be 16–24 digits starting with 25–30 (Alipay's user-presented code format).
 */
export type CodeBehaviour =
  /** 0000–0999 and 9000–9999: paid at once, `SUCCESS`. */
  | 'pay_now'
  /** 1000–1999: `UNKNOW`; the trade waits for the buyer's password, then becomes TRADE_SUCCESS. */
  | 'confirm_later'
  /** 2000–2999: `UNKNOW`; the buyer never confirms, the trade stays WAIT_BUYER_PAY until cancelled. */
  | 'never_confirm'
  /** 3000–3999: `FAIL` BUYER_BALANCE_NOT_ENOUGH. */
  | 'insufficient_balance'
  /** 4000–4999: the first answer is `UNKNOW`, but the trade is paid. */
  | 'unknown_then_paid'
  /** 5000–5999: the first answer is held back longer than the client's timeout; the trade is paid. */
  | 'timeout_then_paid'
  /** 6000–6999: `FAIL` EXPIRED_CODE. */
  | 'code_expired'
  /** 7000–7999: `FAIL` SOUNDWAVE_PARSER_FAIL (code not recognised). */
  | 'code_invalid'
  /** 8000–8999: `FAIL` FRAUD_REJECT (risk control). */
  | 'risk_rejected';

export const PAYMENT_CODE_PATTERN = /^(2[5-9]|30)\d{14,22}$/;

/** Wallet error codes of the behaviours that fail at once. */
export const BEHAVIOUR_FAIL_CODES: Partial<Record<CodeBehaviour, string>> = {
  insufficient_balance: 'BUYER_BALANCE_NOT_ENOUGH',
  code_expired: 'EXPIRED_CODE',
  code_invalid: 'SOUNDWAVE_PARSER_FAIL',
  risk_rejected: 'FRAUD_REJECT',
};

const BY_THOUSAND: readonly CodeBehaviour[] = [
  'pay_now', // 0xxx
  'confirm_later', // 1xxx
  'never_confirm', // 2xxx
  'insufficient_balance', // 3xxx
  'unknown_then_paid', // 4xxx
  'timeout_then_paid', // 5xxx
  'code_expired', // 6xxx
  'code_invalid', // 7xxx
  'risk_rejected', // 8xxx
  'pay_now', // 9xxx
];

/** The behaviour of a well-formed code; codes that break the format are `code_invalid`. */
export function behaviourOf(code: string): CodeBehaviour {
  if (!PAYMENT_CODE_PATTERN.test(code)) return 'code_invalid';
  const thousands = Number(code.slice(-4, -3));
  return BY_THOUSAND[thousands] ?? 'code_invalid';
}
