import { Body, Controller, Param, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { AdmitError, Public } from '@admit/service-kit';
import { NotificationsService } from './notifications.service';

/** The route wallets post their asynchronous notifications to (form body, wallet signature). */
export const NOTIFY_PATH = '/v1/wallets/:wallet/notify';

@Controller('v1/wallets')
export class NotificationsController {
  constructor(private readonly notifications: NotificationsService) {}

  @Public()
  @Post(':wallet/notify')
  async notify(@Param('wallet') wallet: string, @Body() body: unknown, @Res() res: Response): Promise<void> {
    if (wallet !== this.notifications.walletName) throw AdmitError.notFound('wallet');
    const form = toForm(body);
    const ack = await this.notifications.receive(form);
    res.status(200).type('text/plain').send(ack);
  }
}

/** The posted fields as strings; anything else (repeated fields, JSON objects) is not a notification. */
function toForm(body: unknown): Record<string, string> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new AdmitError(400, 'INVALID_NOTIFICATION', 'Notification rejected: expected form fields.');
  }
  const form: Record<string, string> = {};
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (typeof value !== 'string')
      throw new AdmitError(400, 'INVALID_NOTIFICATION', `Notification rejected: field ${key} is not a single value.`);
    form[key] = value;
  }
  return form;
}
