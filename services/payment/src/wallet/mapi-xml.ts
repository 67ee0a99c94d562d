import { XMLParser } from 'fast-xml-parser';
import { TextDecoder } from 'node:util';
import { buildPreSignString } from './mapi-signature';

/** The parsed mapi XML envelope (brief §2.0). Values are raw strings, never numbers. */
export type MapiEnvelope = {
  /** `T` when the gateway accepted the request, `F` when it rejected it. */
  isSuccess: string;
  /** Gateway error code when `isSuccess` is `F`. */
  error?: string;
  /** The echoed request parameters. */
  request: Record<string, string>;
  /** Business fields of `<response><alipay>`, when present. */
  response?: Record<string, string>;
  sign?: string;
  signType?: string;
};

export class MapiXmlError extends Error {
  override readonly name = 'MapiXmlError';
}

const MAX_DECLARATION_SCAN = 256;

/**
 * Decodes a response body into text, honouring the encoding declared in the XML declaration
 * (`<?xml version="1.0" encoding="GBK"?>`), else the charset of the Content-Type header, else
 * UTF-8. Invalid byte sequences or unknown encodings throw {@link MapiXmlError}.
 */
export function decodeXmlBody(body: Uint8Array, contentType?: string): string {
  const head = Buffer.from(body.subarray(0, MAX_DECLARATION_SCAN)).toString('latin1');
  const declared = /^(?:\uFEFF|\u00EF\u00BB\u00BF)?<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(
    head,
  )?.[1];
  const fromHeader =
    contentType !== undefined ? /charset\s*=\s*"?([A-Za-z0-9._-]+)/i.exec(contentType)?.[1] : undefined;
  const label = declared ?? fromHeader ?? 'utf-8';
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label, { fatal: true });
  } catch {
    throw new MapiXmlError(`unsupported response encoding ${label}`);
  }
  try {
    return decoder.decode(body);
  } catch {
    throw new MapiXmlError(`response body is not valid ${label}`);
  }
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: true,
  htmlEntities: false,
  isArray: (_name: string, jpath: unknown) => jpath === 'alipay.request.param',
});

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function textOf(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  if (isRecord(value) && Object.keys(value).every((k) => k.startsWith('@_'))) return '';
  throw new MapiXmlError(`${where} is not a text element`);
}

function optionalText(value: unknown, where: string): string | undefined {
  return value === undefined ? undefined : textOf(value, where);
}

/**
 * Parses the mapi response envelope. Throws {@link MapiXmlError} for anything that is not
 * well-formed XML with an `<alipay>` root and an `<is_success>` element, and for repeated or
 * nested business fields (which the signature rule cannot cover).
 */
export function parseMapiEnvelope(xml: string): MapiEnvelope {
  let doc: unknown;
  try {
    doc = parser.parse(xml, true);
  } catch (err) {
    throw new MapiXmlError(`unparsable XML: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isRecord(doc) || !isRecord(doc['alipay'])) throw new MapiXmlError('missing <alipay> root element');
  const root = doc['alipay'];
  const isSuccess = optionalText(root['is_success'], 'is_success');
  if (isSuccess === undefined) throw new MapiXmlError('missing <is_success>');

  const request: Record<string, string> = {};
  const requestNode = root['request'];
  if (isRecord(requestNode) && Array.isArray(requestNode['param'])) {
    for (const param of requestNode['param']) {
      if (isRecord(param) && typeof param['@_name'] === 'string') {
        request[param['@_name']] = textOf(param['#text'], 'request param');
      }
    }
  }

  let response: Record<string, string> | undefined;
  const responseNode = root['response'];
  if (responseNode !== undefined && responseNode !== '') {
    if (!isRecord(responseNode) || !isRecord(responseNode['alipay'])) {
      throw new MapiXmlError('<response> does not hold an <alipay> element');
    }
    response = {};
    for (const [key, value] of Object.entries(responseNode['alipay'])) {
      if (key.startsWith('@_')) continue;
      if (Array.isArray(value)) throw new MapiXmlError(`repeated response field ${key}`);
      response[key] = textOf(value, `response field ${key}`);
    }
  }

  const envelope: MapiEnvelope = { isSuccess, request };
  const error = optionalText(root['error'], 'error');
  if (error !== undefined) envelope.error = error;
  if (response !== undefined) envelope.response = response;
  const sign = optionalText(root['sign'], 'sign');
  if (sign !== undefined) envelope.sign = sign;
  const signType = optionalText(root['sign_type'], 'sign_type');
  if (signType !== undefined) envelope.signType = signType;
  return envelope;
}

/** Pre-sign string of a response: the `<response><alipay>` children sorted by name, `k=v&…`. */
export function responsePreSignString(response: Readonly<Record<string, string>>): string {
  return buildPreSignString(response);
}
