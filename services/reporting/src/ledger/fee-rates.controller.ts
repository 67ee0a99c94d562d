import { Body, Controller, Get, Inject, Param, Put } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { idSchema } from '@admit/contracts';
import { AdmitError, parseOr400, RequireScopes } from '@admit/service-kit';
import { REPORTING_SETTINGS, type ReportingSettings } from '../config';
import { MAX_BPS } from './fees';

export const feeRateBodySchema = z.strictObject({ mdrBps: z.number().int().min(0).max(MAX_BPS) });

/**
 * The merchant discount rate (basis points) the ledger applies to a merchant's payments. A change
 * applies to payments recorded after it; recorded payments keep their rate (`fee_bps`).
 */
@Controller('v1/merchants/:id/fee-rate')
export class FeeRatesController {
  constructor(
    @Inject('DATA_SOURCE') private readonly ds: DataSource,
    @Inject(REPORTING_SETTINGS) private readonly settings: Pick<ReportingSettings, 'defaultMdrBps'>,
  ) {}

  private async merchant(id: string): Promise<string> {
    if (!idSchema('merchant').safeParse(id).success) throw AdmitError.notFound('merchant');
    const merchantId = id;
    const rows = (await this.ds.query(`SELECT 1 FROM merchants WHERE id = $1`, [merchantId])) as unknown[];
    if (rows.length === 0) throw AdmitError.notFound('merchant');
    return merchantId;
  }

  @Get()
  @RequireScopes('acquirer')
  async get(@Param('id') id: string) {
    const merchantId = await this.merchant(id);
    const rows = (await this.ds.query(`SELECT mdr_bps FROM merchant_fee_rates WHERE merchant_id = $1`, [
      merchantId,
    ])) as { mdr_bps: number }[];
    const row = rows[0];
    return { merchantId, mdrBps: row?.mdr_bps ?? this.settings.defaultMdrBps, isDefault: !row };
  }

  @Put()
  @RequireScopes('acquirer')
  async put(@Param('id') id: string, @Body() body: unknown) {
    const merchantId = await this.merchant(id);
    const { mdrBps } = parseOr400(feeRateBodySchema, body);
    await this.ds.query(
      `INSERT INTO merchant_fee_rates (merchant_id, mdr_bps) VALUES ($1, $2)
       ON CONFLICT (merchant_id) DO UPDATE SET mdr_bps = EXCLUDED.mdr_bps, updated_at = now()`,
      [merchantId, mdrBps],
    );
    return { merchantId, mdrBps, isDefault: false };
  }
}
