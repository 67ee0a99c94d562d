export * from './wallet-gateway';
export * from './alipay-mapi.config';
export * from './alipay-mapi.gateway';
export { ALIPAY_ERROR_CODE_MAP, ALIPAY_UNKNOWN_OUTCOME_CODES, mapAlipayErrorCode } from './alipay-error-codes';
