import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Reads a PEM given either inline (`-----BEGIN …`) or as a file path. */
export function readPem(valueOrPath: string): string {
  return valueOrPath.trimStart().startsWith('-----BEGIN') ? valueOrPath : fs.readFileSync(valueOrPath, 'utf8');
}

export type DevKeyFiles = {
  dir: string;
  walletPrivateKeyPath: string;
  walletPublicKeyPath: string;
  merchantPrivateKeyPath: string;
  merchantPublicKeyPath: string;
};

/**
 * Creates (once) two RSA-2048 key pairs for local RSA2 use: the wallet's (the sandbox signs with
 * its private key; the adapter verifies with its public key) and the merchant's (the adapter signs
 * with its private key; the sandbox verifies with its public key). Existing files are reused.
 */
export function ensureDevKeys(dir: string): DevKeyFiles {
  fs.mkdirSync(dir, { recursive: true });
  const files: DevKeyFiles = {
    dir,
    walletPrivateKeyPath: path.join(dir, 'wallet-private.pem'),
    walletPublicKeyPath: path.join(dir, 'wallet-public.pem'),
    merchantPrivateKeyPath: path.join(dir, 'merchant-private.pem'),
    merchantPublicKeyPath: path.join(dir, 'merchant-public.pem'),
  };
  const pairs: Array<[string, string]> = [
    [files.walletPrivateKeyPath, files.walletPublicKeyPath],
    [files.merchantPrivateKeyPath, files.merchantPublicKeyPath],
  ];
  for (const [privatePath, publicPath] of pairs) {
    if (fs.existsSync(privatePath) && fs.existsSync(publicPath)) continue;
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    fs.writeFileSync(privatePath, privateKey, { mode: 0o600 });
    fs.writeFileSync(publicPath, publicKey);
  }
  return files;
}
