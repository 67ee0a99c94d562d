import { behaviourOf } from './payment-code-behaviour';

describe('payment code behaviour by the last four digits', () => {
  it.each([
    ['0000', 'pay_now'],
    ['0999', 'pay_now'],
    ['1000', 'confirm_later'],
    ['1999', 'confirm_later'],
    ['2000', 'never_confirm'],
    ['2999', 'never_confirm'],
    ['3000', 'insufficient_balance'],
    ['3999', 'insufficient_balance'],
    ['4000', 'unknown_then_paid'],
    ['4999', 'unknown_then_paid'],
    ['5000', 'timeout_then_paid'],
    ['5999', 'timeout_then_paid'],
    ['6000', 'code_expired'],
    ['6999', 'code_expired'],
    ['7000', 'code_invalid'],
    ['7999', 'code_invalid'],
    ['8000', 'risk_rejected'],
    ['8999', 'risk_rejected'],
    ['9000', 'pay_now'],
    ['9999', 'pay_now'],
  ])('…%s → %s', (last, behaviour) => {
    expect(behaviourOf(`28000000000000${last}`)).toBe(behaviour);
  });

  it.each(['25', '26', '27', '28', '29', '30'])('accepts the prefix %s', (prefix) => {
    expect(behaviourOf(`${prefix}00000000000000`)).toBe('pay_now');
  });

  it.each([
    ['a prefix below 25', '240000000000000000'],
    ['a prefix above 30', '310000000000000000'],
    ['15 digits', '280000000000000'],
    ['25 digits', '2800000000000000000000000'],
    ['letters', '28000000000000abcd'],
  ])('treats %s as not recognised', (_name, code) => {
    expect(behaviourOf(code)).toBe('code_invalid');
  });

  it('accepts 16 and 24 digit codes', () => {
    expect(behaviourOf('2800000000003000')).toBe('insufficient_balance');
    expect(behaviourOf('280000000000000000003000')).toBe('insufficient_balance');
  });
});
