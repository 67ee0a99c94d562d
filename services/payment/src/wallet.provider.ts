import { AlipayMapiGateway, type WalletGateway } from './wallet';
import type { PaymentSettings } from './config';

/** Injection token of the wallet port (see wallet/wallet-gateway.ts). */
export const WALLET = Symbol('WALLET');

export function createWallet(settings: PaymentSettings): WalletGateway {
  return new AlipayMapiGateway(settings.wallet);
}
