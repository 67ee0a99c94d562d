import { XMLBuilder } from 'fast-xml-parser';
import { preSignString, walletSign, type SandboxKeys } from './sandbox-signer';

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  format: false,
  suppressEmptyNode: false,
  processEntities: true,
});

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

function requestEcho(params: ReadonlyArray<[string, string]>): { param: Array<Record<string, string>> } {
  return { param: params.map(([name, value]) => ({ '@_name': name, '#text': value })) };
}

/**
 * A successful gateway answer: request echo, business fields, and the signature over the
 * business fields (sorted `k=v&…` of the `<response><alipay>` children, brief §4).
 */
export function successEnvelope(
  requestParams: ReadonlyArray<[string, string]>,
  fields: Readonly<Record<string, string>>,
  keys: SandboxKeys,
  tamper = false,
): string {
  const present: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== '') present[key] = value;
  let sign = walletSign(preSignString(present), keys);
  if (tamper) sign = tamperSignature(sign);
  const xml: string = builder.build({
    alipay: {
      is_success: 'T',
      request: requestEcho(requestParams),
      response: { alipay: present },
      sign,
      sign_type: keys.signType,
    },
  });
  return DECLARATION + xml;
}

/** A gateway-level rejection (`is_success=F`); not signed, like the real gateway. */
export function errorEnvelope(error: string): string {
  const xml: string = builder.build({ alipay: { is_success: 'F', error } });
  return DECLARATION + xml;
}

function tamperSignature(sign: string): string {
  const first = sign.charAt(0);
  const replacement = first === 'a' ? 'b' : 'a';
  return replacement + sign.slice(1);
}
