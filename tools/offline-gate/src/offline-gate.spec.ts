import { createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyTicketCode, type OfflineKit } from '@admit/contracts';
import { main } from './cli';
import { parseKit, verifyOffline } from './index';
/** A minimal signer in the code format (the service's TicketSigner is not importable from a tool). */
class TestSigner {
  readonly privateKey: KeyObject = generateKeyPairSync('ed25519').privateKey;
  readonly publicKeys = new Map([['k1', createPublicKey(this.privateKey)]]);
  issue(claims: object): string {
    const body = Buffer.from(JSON.stringify({ v: 1, kid: 'k1', ...claims })).toString('base64url');
    return `${body}.${sign(null, Buffer.from(body, 'ascii'), this.privateKey).toString('base64url')}`;
  }
  check(code: string) {
    return verifyTicketCode(code, this.publicKeys);
  }
  exportPublicKeys() {
    return [
      {
        kid: 'k1',
        alg: 'Ed25519',
        spki: (this.publicKeys.get('k1') as KeyObject).export({ format: 'der', type: 'spki' }).toString('base64'),
      },
    ];
  }
}

describe('offline gate verifier', () => {
  const signer = new TestSigner();
  const now = new Date('2026-05-01T10:00:00Z');
  const t = Math.floor(now.getTime() / 1000);
  const kit: OfflineKit = parseKit({
    version: 1,
    attractionId: 'att_1',
    gateKeyId: 'key_1',
    issuedAt: '2026-05-01T00:00:00.000Z',
    validUntil: '2026-05-02T00:00:00.000Z',
    publicKeys: signer.exportPublicKeys(),
    revokedTicketIds: ['tkt_void'],
  });
  const code = (over: object = {}) =>
    signer.issue({ tid: 'tkt_ok', att: 'att_1', nbf: t - 3600, exp: t + 3600, ent: 1, ...over });

  it('agrees with the service verifier on every code', () => {
    const other = new TestSigner();
    const [body, sig] = code().split('.') as [string, string];
    const tampered = `${Buffer.from(
      Buffer.from(body, 'base64url').toString('utf8').replace('"ent":1', '"ent":5'),
    ).toString('base64url')}.${sig}`;
    for (const c of [code(), other.issue({ tid: 'x', att: 'att_1', nbf: 0, exp: t + 1, ent: 1 }), tampered, 'junk']) {
      const service = signer.check(c);
      const offline = verifyOffline(c, kit, now);
      expect(offline.result === 'admitted').toBe(service.ok);
      expect(verifyTicketCode(c, signer.publicKeys)).toEqual(service);
    }
  });

  it('rejects with the reasons of the API', () => {
    expect(verifyOffline(code(), kit, now)).toMatchObject({ result: 'admitted', claims: { tid: 'tkt_ok' } });
    expect(verifyOffline(code({ att: 'att_2' }), kit, now)).toMatchObject({ reason: 'WRONG_ATTRACTION' });
    expect(verifyOffline(code({ tid: 'tkt_void' }), kit, now)).toMatchObject({ reason: 'VOID' });
    expect(verifyOffline(code({ nbf: t + 60 }), kit, now)).toMatchObject({ reason: 'NOT_YET_VALID' });
    expect(verifyOffline(code({ exp: t }), kit, now)).toMatchObject({ reason: 'EXPIRED' });
    expect(verifyOffline(code(), kit, new Date('2026-05-02T00:00:00Z'))).toMatchObject({ reason: 'KIT_EXPIRED' });
  });

  it('CLI: exit 0 admitted, 1 rejected, 2 usage', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kit-'));
    const path = join(dir, 'kit.json');
    writeFileSync(path, JSON.stringify(kit));
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(main(['--kit', path, '--now', now.toISOString(), code()])).toBe(0);
    expect(main(['--kit', path, '--now', now.toISOString(), code({ tid: 'tkt_void' })])).toBe(1);
    expect(main(['--kit', path])).toBe(2);
    expect(JSON.parse(String(write.mock.calls[0]?.[0]))).toEqual({
      result: 'admitted',
      ticketId: 'tkt_ok',
      entries: 1,
    });
    write.mockRestore();
    err.mockRestore();
  });
});
