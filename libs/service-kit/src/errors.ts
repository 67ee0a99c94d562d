import { ArgumentsHost, Catch, HttpException, HttpStatus, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { ErrorBody } from '@admit/contracts';
import type { Logger } from '@admit/messaging';

export type ErrorDetail = { field: string; code: string; message: string };

/**
 * The one exception type services throw for an answer other than success. Carries the HTTP
 * status and the machine-readable code of api-v1.md. Domain code throws these; the filter
 * renders them.
 */
export class AdmitError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'AdmitError';
  }

  static validation(details: ErrorDetail[]): AdmitError {
    return new AdmitError(400, 'VALIDATION_FAILED', 'The request is not valid.', details);
  }
  static notFound(what = 'resource'): AdmitError {
    return new AdmitError(404, 'NOT_FOUND', `No such ${what}.`);
  }
  static conflict(code: string, message: string): AdmitError {
    return new AdmitError(409, code, message);
  }
  static unprocessable(code: string, message: string): AdmitError {
    return new AdmitError(422, code, message);
  }
}

export function requestIdOf(req: Request): string {
  const id = (req as Request & { requestId?: string }).requestId;
  return id ?? 'unknown';
}

export function errorBody(requestId: string, code: string, message: string, details?: ErrorDetail[]): ErrorBody {
  return { error: { code, message, requestId, ...(details && details.length > 0 ? { details } : {}) } };
}

/** Maps body-parser / express errors (raised before Nest routing) to the error shape. */
export function mapTransportError(err: unknown): AdmitError | null {
  const e = err as { type?: string; status?: number; statusCode?: number } | null;
  switch (e?.type) {
    case 'entity.too.large':
      return new AdmitError(413, 'PAYLOAD_TOO_LARGE', 'The request body is too large.');
    case 'entity.parse.failed':
      return new AdmitError(400, 'MALFORMED_JSON', 'The request body is not valid JSON.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AdmitError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported content encoding or charset.');
    case 'request.aborted':
      return new AdmitError(400, 'REQUEST_ABORTED', 'The request was aborted.');
    default:
      break;
  }
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new AdmitError(status, 'BAD_REQUEST', 'The request could not be read.');
  }
  return null;
}

const STATUS_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE',
  429: 'RATE_LIMITED',
};

/** Renders every error as `{ error: { code, message, requestId, details? } }`. Unknown errors → 500, logged. */
@Catch()
export class AdmitErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request>();
    const res = ctx.getResponse<Response>();
    const requestId = requestIdOf(req);
    const err = toAdmitError(exception);
    if (err.status >= 500) {
      this.logger.error({ err: exception, requestId, path: req.path }, 'request failed');
    }
    if (res.headersSent) return;
    for (const [k, v] of Object.entries(err.headers ?? {})) res.setHeader(k, v);
    // Explicitly: res.json keeps a Content-Type the route set already (e.g. text/html of a page).
    res
      .status(err.status)
      .type('application/json')
      .json(errorBody(requestId, err.code, err.message, err.details));
  }
}

export function toAdmitError(exception: unknown): AdmitError {
  if (exception instanceof AdmitError) return exception;
  const transport = mapTransportError(exception);
  if (transport && !(exception instanceof HttpException)) return transport;
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === 404) return new AdmitError(404, 'NOT_FOUND', 'No such route or resource.');
    if (status < 500) return new AdmitError(status, STATUS_CODES[status] ?? 'BAD_REQUEST', exception.message);
    return new AdmitError(
      status,
      status === 503 ? 'SERVICE_UNAVAILABLE' : 'INTERNAL_ERROR',
      'The service could not complete the request.',
    );
  }
  return new AdmitError(
    HttpStatus.INTERNAL_SERVER_ERROR,
    'INTERNAL_ERROR',
    'The service could not complete the request.',
  );
}
