import { NOTIFY_MAX_ATTEMPTS, NOTIFY_RETRY_DELAYS_MS } from '../src/notification-outbox';
import {
  paymentCode,
  payInput,
  randomPartnerId,
  startHarness,
  startNotifyReceiver,
  waitFor,
  type Harness,
  type NotifyReceiver,
} from './sandbox-harness';

type NotificationJson = {
  notifyId: string;
  status: string;
  attempts: number;
  lastError: string | null;
  form: Record<string, string>;
};

async function notificationsOf(h: Harness, partnerTransId: string): Promise<NotificationJson[]> {
  const res = await fetch(`${h.sandbox.url}/notifications?partnerTransId=${encodeURIComponent(partnerTransId)}`);
  return ((await res.json()) as { data: NotificationJson[] }).data;
}

// 2m,10m,10m,1h,2h,6h,15h × 0.00002 ≈ 2 ms … 1.1 s: the whole schedule runs in under 2 s.
const SCALE = 0.00002;

describe('asynchronous notifications', () => {
  let receiver: NotifyReceiver;
  let h: Harness;
  beforeAll(async () => {
    receiver = await startNotifyReceiver();
    h = await startHarness(
      { notifyScheduleScale: SCALE, confirmDelayMs: 300, tickMs: 20 },
      { notifyUrl: receiver.url },
    );
  });
  afterAll(async () => {
    await h.close();
    await receiver.close();
  });

  function receivedFor(partnerTransId: string): Array<Record<string, string>> {
    return receiver.received.filter((f) => f['out_trade_no'] === partnerTransId);
  }

  it('posts a signed trade_status_sync when a trade is paid; the adapter verifies it', async () => {
    const input = payInput(paymentCode('0800'), { amount: { value: 2_500, currency: 'JPY' } });
    const paid = await h.gateway.pay(input);
    if (paid.kind !== 'succeeded') throw new Error('pay failed');
    const [form] = await waitFor(() =>
      receivedFor(input.partnerTransId).length > 0 ? receivedFor(input.partnerTransId) : undefined,
    );
    if (form === undefined) throw new Error('no notification');
    const verified = h.gateway.verifyNotification(form);
    if (verified.kind !== 'verified') throw new Error(JSON.stringify(verified));
    expect(verified.notification).toMatchObject({
      notifyType: 'trade_status_sync',
      action: 'payByAccountAction',
      partnerTransId: input.partnerTransId,
      walletTransactionId: paid.walletTransactionId,
      tradeStatus: 'TRADE_SUCCESS',
      amount: { value: 2_500, currency: 'JPY' },
      exchangeRate: '0.048',
      settlementAmount: { value: 120_00, currency: 'CNY' },
    });
    expect(verified.notification.notifyId).toMatch(/^[0-9a-f]{32}$/);
    await waitFor(async () =>
      (await notificationsOf(h, input.partnerTransId))[0]?.status === 'delivered' ? true : undefined,
    );
  });

  it('a tampered notification is rejected by the adapter', async () => {
    const input = payInput(paymentCode('0801'));
    expect((await h.gateway.pay(input)).kind).toBe('succeeded');
    const [form] = await waitFor(() =>
      receivedFor(input.partnerTransId).length > 0 ? receivedFor(input.partnerTransId) : undefined,
    );
    if (form === undefined) throw new Error('no notification');
    expect(h.gateway.verifyNotification({ ...form, trade_status: 'TRADE_CLOSED' })).toMatchObject({
      kind: 'rejected',
      reason: 'bad_signature',
    });
    expect(h.gateway.verifyNotification({ ...form, trans_amount: '0.01' })).toMatchObject({
      kind: 'rejected',
      reason: 'bad_signature',
    });
    const { sign: _s, ...unsigned } = form;
    expect(h.gateway.verifyNotification(unsigned)).toMatchObject({ kind: 'rejected', reason: 'missing_signature' });
  });

  it('notifies the buyer confirmation of a 1xxx trade only once it happens', async () => {
    const input = payInput(paymentCode('1800'));
    expect((await h.gateway.pay(input)).kind).toBe('unknown');
    expect(receivedFor(input.partnerTransId)).toHaveLength(0);
    const [form] = await waitFor(() =>
      receivedFor(input.partnerTransId).length > 0 ? receivedFor(input.partnerTransId) : undefined,
    );
    expect(form).toMatchObject({ trade_status: 'TRADE_SUCCESS', notify_action_type: 'payByAccountAction' });
  });

  it('notifies the closing of a cancelled trade', async () => {
    const input = payInput(paymentCode('2800'));
    expect((await h.gateway.pay(input)).kind).toBe('unknown');
    expect((await h.gateway.cancel(input.partnerTransId)).kind).toBe('cancelled');
    const [form] = await waitFor(() =>
      receivedFor(input.partnerTransId).length > 0 ? receivedFor(input.partnerTransId) : undefined,
    );
    expect(form).toMatchObject({ trade_status: 'TRADE_CLOSED', notify_action_type: 'closeTradeAction' });
    expect(h.gateway.verifyNotification(form ?? {})).toMatchObject({ kind: 'verified' });
  });

  it('resends a notification the merchant did not acknowledge with `success`, keeping its notify_id', async () => {
    receiver.answers.push('fail', 'FAIL'); // the next two deliveries are refused
    const input = payInput(paymentCode('0802'));
    expect((await h.gateway.pay(input)).kind).toBe('succeeded');
    const forms = await waitFor(() =>
      receivedFor(input.partnerTransId).length >= 3 ? receivedFor(input.partnerTransId) : undefined,
    );
    expect(new Set(forms.map((f) => f['notify_id'])).size).toBe(1);
    const [record] = await waitFor(async () => {
      const list = await notificationsOf(h, input.partnerTransId);
      return list[0]?.status === 'delivered' ? list : undefined;
    });
    expect(record?.attempts).toBe(3);
    await new Promise((r) => setTimeout(r, 200));
    expect(receivedFor(input.partnerTransId)).toHaveLength(3); // nothing after the acknowledgement
  });

  it(`gives up after ${NOTIFY_MAX_ATTEMPTS} sends on the 2m,10m,10m,1h,2h,6h,15h schedule`, async () => {
    expect(NOTIFY_RETRY_DELAYS_MS).toEqual([120_000, 600_000, 600_000, 3_600_000, 7_200_000, 21_600_000, 54_000_000]);
    receiver.answers.push(...Array.from({ length: 20 }, () => 'nope'));
    const input = payInput(paymentCode('0803'));
    const started = Date.now();
    expect((await h.gateway.pay(input)).kind).toBe('succeeded');
    const [record] = await waitFor(async () => {
      const list = await notificationsOf(h, input.partnerTransId);
      return list[0]?.status === 'failed' ? list : undefined;
    }, 15_000);
    expect(record?.attempts).toBe(8);
    expect(receivedFor(input.partnerTransId)).toHaveLength(8);
    const scheduled = NOTIFY_RETRY_DELAYS_MS.reduce((a, b) => a + b, 0) * SCALE;
    expect(Date.now() - started).toBeGreaterThanOrEqual(scheduled * 0.9);
    receiver.answers.length = 0;
  });
});

describe('notification URL override and persistence across restarts', () => {
  it('SANDBOX_NOTIFY_URL overrides the request notify_url', async () => {
    const receiver = await startNotifyReceiver();
    const h = await startHarness({ notifyUrlOverride: receiver.url, tickMs: 20 });
    try {
      const input = payInput(paymentCode('0900'));
      expect((await h.gateway.pay(input)).kind).toBe('succeeded');
      const form = await waitFor(() => receiver.received.find((f) => f['out_trade_no'] === input.partnerTransId));
      expect(h.gateway.verifyNotification(form)).toMatchObject({ kind: 'verified' });
    } finally {
      await h.close();
      await receiver.close();
    }
  });

  it('a pending resend survives a restart of the sandbox', async () => {
    const receiver = await startNotifyReceiver();
    const partnerId = randomPartnerId();
    // scale 1: after the refused first send, the next one is 2 minutes away …
    const first = await startHarness({ partnerId, tickMs: 20, notifyScheduleScale: 1 }, { notifyUrl: receiver.url });
    receiver.answers.push('busy');
    const input = payInput(paymentCode('0901'));
    try {
      expect((await first.gateway.pay(input)).kind).toBe('succeeded');
      await waitFor(async () =>
        (await notificationsOf(first, input.partnerTransId))[0]?.attempts === 1 && receiver.received.length === 1
          ? true
          : undefined,
      );
    } finally {
      await first.close();
    }
    // … and a sandbox restarted two minutes "later" (its clock moved on) sends it again from the database.
    const second = await startHarness(
      { partnerId, tickMs: 20, now: () => new Date(Date.now() + 121_000) },
      { notifyUrl: receiver.url },
    );
    try {
      const [record] = await waitFor(async () => {
        const list = await notificationsOf(second, input.partnerTransId);
        return list[0]?.status === 'delivered' ? list : undefined;
      });
      expect(record?.attempts).toBe(2);
      expect(receiver.received.map((f) => f['notify_id'])).toEqual([record?.notifyId, record?.notifyId]);
    } finally {
      await second.close();
      await receiver.close();
    }
  });
});
