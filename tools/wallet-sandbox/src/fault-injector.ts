import { z } from 'zod';

/**
 * Test-only faults for the gateway, armed with `POST /control/faults` and consumed one request at
 * a time. They let tests (and Admit's end-to-end tests) exercise the client's "treat as unknown"
 * rules (brief §6.2) on any service:
 * - `http_500`: answer HTTP 500, nothing processed;
 * - `garbage`: answer 200 with a body that is not XML, nothing processed;
 * - `system_error`: answer is_success=F / SYSTEM_ERROR, nothing processed;
 * - `unknown_result`: answer result_code UNKNOW (cancel: FAIL with retry_flag=Y), nothing processed;
 * - `bad_response_sign`: process the request normally, then send a corrupted signature;
 * - `delay`: wait `delayMs` before processing normally.
 */
export const faultSchema = z.strictObject({
  fault: z.enum(['http_500', 'garbage', 'system_error', 'unknown_result', 'bad_response_sign', 'delay']),
  /** Only requests for this service (any when absent). */
  service: z.string().min(1).optional(),
  /** Only requests whose partner_trans_id / out_trade_no is this (any when absent). */
  partnerTransId: z.string().min(1).optional(),
  /** How many matching requests it applies to. */
  count: z.number().int().min(1).max(1000).default(1),
  delayMs: z.number().int().min(0).max(600_000).default(0),
});

export type Fault = z.infer<typeof faultSchema>;

export class FaultInjector {
  private readonly faults: Fault[] = [];

  arm(fault: Fault): void {
    this.faults.push({ ...fault });
  }

  clear(): void {
    this.faults.length = 0;
  }

  list(): readonly Fault[] {
    return this.faults;
  }

  /** Takes the first armed fault matching the request, if any. */
  take(service: string, params: Record<string, string>): Fault | undefined {
    const id = params['partner_trans_id'] ?? params['out_trade_no'];
    const index = this.faults.findIndex(
      (f) =>
        (f.service === undefined || f.service === service) &&
        (f.partnerTransId === undefined || f.partnerTransId === id),
    );
    if (index < 0) return undefined;
    const fault = this.faults[index];
    if (fault === undefined) return undefined;
    fault.count -= 1;
    if (fault.count <= 0) this.faults.splice(index, 1);
    return fault;
  }
}
