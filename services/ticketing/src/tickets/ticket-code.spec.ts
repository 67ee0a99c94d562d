import { generateKeyPairSync } from 'node:crypto';
import { verifyOffline } from '@admit/contracts';
import { TicketSigner, verifyTicketCode } from './ticket-code';
import { startOfLocalDay, validityWindow } from './validity';

const key = () => generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');

describe('ticket codes', () => {
  const signer = new TicketSigner(key(), 'k1');
  const claims = { tid: 'tkt_1', att: 'att_1', nbf: 1_700_000_000, exp: 1_700_086_400, ent: 1 };

  it('verify with the public key only, carrying the claims', () => {
    const code = signer.issue(claims);
    expect(code.length).toBeLessThan(300);
    const publicOnly = new Map([['k1', signer.publicKeys.get('k1')!]]);
    expect(verifyTicketCode(code, publicOnly)).toEqual({ ok: true, claims: { v: 1, kid: 'k1', ...claims } });
  });

  it('detect tampering, forgery with another key, and garbage', () => {
    const code = signer.issue(claims);
    const [body, sig] = code.split('.') as [string, string];
    const tampered = Buffer.from(
      Buffer.from(body, 'base64url').toString('utf8').replace('"ent":1', '"ent":9'),
    ).toString('base64url');
    expect(signer.check(`${tampered}.${sig}`)).toEqual({ ok: false, reason: 'FORGED' });
    const other = new TicketSigner(key(), 'k1');
    expect(signer.check(other.issue(claims))).toEqual({ ok: false, reason: 'FORGED' });
    expect(signer.check('hello')).toEqual({ ok: false, reason: 'UNKNOWN_CODE' });
    expect(signer.check(`${body}.`)).toEqual({ ok: false, reason: 'UNKNOWN_CODE' });
  });

  it('still verify codes of a retired key after rotation', () => {
    const old = new TicketSigner(key(), 'k1');
    const code = old.issue(claims);
    const spki = old.exportPublicKeys()[0]!.spki;
    const rotated = new TicketSigner(key(), 'k2', { k1: spki });
    expect(rotated.check(code).ok).toBe(true);
  });
});

describe('offline verification agrees with the service', () => {
  it('admits exactly the codes the service accepts (same keys, same attraction, valid now)', () => {
    const signer = new TicketSigner(key(), 'k1');
    const other = new TicketSigner(key(), 'k1');
    const now = new Date('2026-05-01T10:00:00Z');
    const t = Math.floor(now.getTime() / 1000);
    const kit = {
      version: 1 as const,
      attractionId: 'att_1',
      gateKeyId: 'key_1',
      issuedAt: now.toISOString(),
      validUntil: new Date(now.getTime() + 3600_000).toISOString(),
      publicKeys: signer.exportPublicKeys(),
      revokedTicketIds: [],
    };
    const claims = { tid: 'tkt_1', att: 'att_1', nbf: t - 10, exp: t + 10, ent: 1 };
    const good = signer.issue(claims);
    const [body, sig] = good.split('.') as [string, string];
    const codes = [good, other.issue(claims), `${body}.${sig.slice(0, -2)}AA`, 'junk', `${body}.`];
    for (const code of codes) {
      expect(verifyOffline(code, kit, now).result === 'admitted').toBe(signer.check(code).ok);
    }
  });
});

describe('validity windows', () => {
  it('cover the local day of the sale in the attraction time zone', () => {
    // 2026-05-01T17:00Z is already 2026-05-02 01:00 in Shanghai.
    const w = validityWindow(new Date('2026-05-01T17:00:00Z'), 'Asia/Shanghai', 'day');
    expect(w.from.toISOString()).toBe('2026-05-01T16:00:00.000Z');
    expect(w.to.toISOString()).toBe('2026-05-02T16:00:00.000Z');
  });

  it('handle DST days and multi-day passes', () => {
    expect(startOfLocalDay('2026-03-29', 'Europe/Berlin').toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect(startOfLocalDay('2026-03-30', 'Europe/Berlin').toISOString()).toBe('2026-03-29T22:00:00.000Z');
    const w = validityWindow(new Date('2026-03-28T12:00:00Z'), 'Europe/Berlin', { days: 3 });
    expect(w.to.getTime() - w.from.getTime()).toBe((72 - 1) * 3600_000);
  });
});
