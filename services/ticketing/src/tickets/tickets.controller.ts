import { Controller, Get, Header, Inject, Param } from '@nestjs/common';
import QRCode from 'qrcode';
import type { DataSource } from 'typeorm';
import { idSchema } from '@admit/contracts';
import { AdmitError, CurrentPrincipal, Public, RequireScopes, type Principal } from '@admit/service-kit';
import { OrdersService, type TicketRow } from '../orders/orders.service';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

@Controller()
export class TicketsController {
  constructor(
    @Inject('DATA_SOURCE') private readonly ds: DataSource,
    private readonly orders: OrdersService,
  ) {}

  @Get('v1/tickets/:id')
  @RequireScopes('merchant', 'acquirer')
  async get(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    if (!idSchema('ticket').safeParse(id).success) throw AdmitError.notFound('ticket');
    const rows = (await this.ds.query('SELECT * FROM tickets WHERE id = $1', [id])) as TicketRow[];
    const t = rows[0];
    if (!t || (p.scope !== 'acquirer' && t.merchant_id !== p.merchantId)) throw AdmitError.notFound('ticket');
    return this.orders.toTicket(t);
  }

  /** The visitor's e-ticket page: QR of the signed code, attraction, product and status. */
  @Public()
  @Get('t/:code')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  async page(@Param('code') code: string) {
    if (code.length > 1024 || !/^[A-Za-z0-9_.-]+$/.test(code)) throw AdmitError.notFound('ticket');
    const rows = (await this.ds.query(
      `SELECT t.*, a.name AS attraction_name, a.timezone, p.name AS product_name, s.starts_at AS slot_starts_at,
              s.ends_at AS slot_ends_at
         FROM tickets t JOIN attractions a ON a.id = t.attraction_id JOIN products p ON p.id = t.product_id
         LEFT JOIN slots s ON s.id = t.slot_id
        WHERE t.code = $1`,
      [code],
    )) as (TicketRow & {
      attraction_name: string;
      timezone: string;
      product_name: string;
      slot_starts_at: Date | null;
      slot_ends_at: Date | null;
    })[];
    const t = rows[0];
    if (!t) throw AdmitError.notFound('ticket');
    const svg = await QRCode.toString(t.code, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 });
    const fmt = (d: Date) =>
      new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: t.timezone }).format(
        new Date(d),
      );
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escape(t.attraction_name)} – e-ticket</title>
<style>body{font-family:system-ui,sans-serif;margin:0;padding:16px;background:#f4f5f7;color:#111}
.card{max-width:420px;margin:0 auto;background:#fff;border-radius:16px;padding:20px;box-shadow:0 2px 10px rgba(0,0,0,.08)}
h1{font-size:1.3rem;margin:0 0 4px}.qr svg{width:100%;height:auto}.status{display:inline-block;padding:4px 10px;border-radius:999px;font-weight:600}
.valid{background:#d9f7e3;color:#0a6b2c}.used{background:#eee;color:#555}.void{background:#fde2e2;color:#a11}dl{display:grid;grid-template-columns:auto 1fr;gap:4px 12px}dt{color:#666}dd{margin:0;min-width:0;overflow-wrap:anywhere}</style></head>
<body><main class="card"><h1>${escape(t.attraction_name)}</h1><p>${escape(t.product_name)}</p>
<div class="qr" aria-label="ticket QR code">${svg}</div>
<p><span class="status ${t.status}" data-testid="status">${t.status}</span></p>
<dl>${t.slot_starts_at && t.slot_ends_at ? `<dt>Slot</dt><dd data-testid="slot">${escape(fmt(t.slot_starts_at))} – ${escape(fmt(t.slot_ends_at))}</dd>` : ''}<dt>Valid</dt><dd>${escape(fmt(t.valid_from))} – ${escape(fmt(t.valid_to))}</dd><dt>Entries left</dt><dd>${t.entries_left}</dd><dt>Ticket</dt><dd>${escape(t.id)}</dd></dl>
</main></body></html>`;
  }
}
