import { decodeXmlBody, MapiXmlError, parseMapiEnvelope, responsePreSignString } from './mapi-xml';

const SAMPLE = `<?xml version="1.0" encoding="UTF-8"?>
<alipay>
  <is_success>T</is_success>
  <request>
    <param name="_input_charset">UTF-8</param>
    <param name="service">alipay.acquire.overseas.spot.pay</param>
    <param name="trans_name">Zoo &amp; Park</param>
  </request>
  <response>
    <alipay>
      <result_code>SUCCESS</result_code>
      <alipay_trans_id>2026112622001000000000000001</alipay_trans_id>
      <partner_trans_id>000123</partner_trans_id>
      <trans_amount>0.10</trans_amount>
      <currency>USD</currency>
      <exchange_rate>7.10000000</exchange_rate>
      <alipay_buyer_login_id>a&lt;b&gt;c</alipay_buyer_login_id>
    </alipay>
  </response>
  <sign>abc</sign>
  <sign_type>MD5</sign_type>
</alipay>`;

describe('parseMapiEnvelope', () => {
  it('reads the envelope, keeping every value as raw text (no number coercion)', () => {
    const env = parseMapiEnvelope(SAMPLE);
    expect(env.isSuccess).toBe('T');
    expect(env.sign).toBe('abc');
    expect(env.signType).toBe('MD5');
    expect(env.request).toEqual({
      _input_charset: 'UTF-8',
      service: 'alipay.acquire.overseas.spot.pay',
      trans_name: 'Zoo & Park',
    });
    expect(env.response).toEqual({
      result_code: 'SUCCESS',
      alipay_trans_id: '2026112622001000000000000001',
      partner_trans_id: '000123',
      trans_amount: '0.10',
      currency: 'USD',
      exchange_rate: '7.10000000',
      alipay_buyer_login_id: 'a<b>c',
    });
  });

  it('reads a gateway rejection without response or sign', () => {
    const env = parseMapiEnvelope(
      '<?xml version="1.0" encoding="GBK"?><alipay><is_success>F</is_success><error>ILLEGAL_SIGN</error></alipay>',
    );
    expect(env).toEqual({ isSuccess: 'F', error: 'ILLEGAL_SIGN', request: {} });
  });

  it('keeps empty business fields as empty strings', () => {
    const env = parseMapiEnvelope(
      '<alipay><is_success>T</is_success><response><alipay><result_code>FAIL</result_code><error/></alipay></response></alipay>',
    );
    expect(env.response).toEqual({ result_code: 'FAIL', error: '' });
  });

  it.each([
    ['not XML', 'Internal Server Error'],
    ['truncated', '<alipay><is_success>T</is_succ'],
    ['wrong root', '<html><body>502</body></html>'],
    ['no is_success', '<alipay><response><alipay><result_code>SUCCESS</result_code></alipay></response></alipay>'],
    [
      'repeated field',
      '<alipay><is_success>T</is_success><response><alipay><result_code>SUCCESS</result_code><result_code>FAIL</result_code></alipay></response></alipay>',
    ],
    [
      'nested field',
      '<alipay><is_success>T</is_success><response><alipay><result_code><x>1</x></result_code></alipay></response></alipay>',
    ],
  ])('rejects %s', (_name, xml) => {
    expect(() => parseMapiEnvelope(xml)).toThrow(MapiXmlError);
  });

  it('builds the response pre-sign string from the sorted business fields', () => {
    const env = parseMapiEnvelope(SAMPLE);
    expect(responsePreSignString(env.response ?? {})).toBe(
      'alipay_buyer_login_id=a<b>c&alipay_trans_id=2026112622001000000000000001&currency=USD&exchange_rate=7.10000000' +
        '&partner_trans_id=000123&result_code=SUCCESS&trans_amount=0.10',
    );
  });
});

describe('decodeXmlBody', () => {
  it('decodes UTF-8 by default', () => {
    expect(decodeXmlBody(Buffer.from('<alipay>中文</alipay>', 'utf8'))).toBe('<alipay>中文</alipay>');
  });

  it('honours encoding="GBK" in the XML declaration', () => {
    const head = Buffer.from('<?xml version="1.0" encoding="GBK"?><alipay><t>', 'latin1');
    const gbk = Buffer.from([0xd6, 0xd0, 0xce, 0xc4]); // 中文 in GBK
    const tail = Buffer.from('</t></alipay>', 'latin1');
    expect(decodeXmlBody(Buffer.concat([head, gbk, tail]))).toContain('<t>中文</t>');
  });

  it('falls back to the Content-Type charset when there is no declaration', () => {
    const body = Buffer.concat([Buffer.from('<a>'), Buffer.from([0xd6, 0xd0]), Buffer.from('</a>')]);
    expect(decodeXmlBody(body, 'text/xml; charset=GBK')).toBe('<a>中</a>');
  });

  it('rejects bytes that are invalid in the declared encoding, and unknown encodings', () => {
    expect(() => decodeXmlBody(Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0xfe, 0x3c]))).toThrow(MapiXmlError);
    expect(() => decodeXmlBody(Buffer.from('<?xml version="1.0" encoding="X-NOPE"?><a/>'))).toThrow(MapiXmlError);
  });
});
