/**
 * CoAP response codes (RFC 7252 §5.9, §12.1.2) as the dotted "c.dd" strings used on the wire
 * documentation, with conversions to the 8-bit code byte and to HTTP statuses.
 */
export const ResponseCode = {
  CREATED: '2.01',
  DELETED: '2.02',
  VALID: '2.03',
  CHANGED: '2.04',
  CONTENT: '2.05',
  CONTINUE: '2.31',
  BAD_REQUEST: '4.00',
  UNAUTHORIZED: '4.01',
  BAD_OPTION: '4.02',
  FORBIDDEN: '4.03',
  NOT_FOUND: '4.04',
  METHOD_NOT_ALLOWED: '4.05',
  NOT_ACCEPTABLE: '4.06',
  REQUEST_ENTITY_INCOMPLETE: '4.08',
  PRECONDITION_FAILED: '4.12',
  REQUEST_ENTITY_TOO_LARGE: '4.13',
  UNSUPPORTED_CONTENT_FORMAT: '4.15',
  INTERNAL_SERVER_ERROR: '5.00',
  NOT_IMPLEMENTED: '5.01',
  BAD_GATEWAY: '5.02',
  SERVICE_UNAVAILABLE: '5.03',
  GATEWAY_TIMEOUT: '5.04',
  PROXYING_NOT_SUPPORTED: '5.05',
} as const;

export type ResponseCode = (typeof ResponseCode)[keyof typeof ResponseCode];

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ResponseCode));

/** True for the codes RFC 7252 and RFC 7959 register. */
export function isResponseCode(code: string): code is ResponseCode {
  return KNOWN_CODES.has(code);
}

/** "2.05" → 69 (class in the top 3 bits, detail in the low 5 bits; RFC 7252 §3). */
export function responseCodeToByte(code: ResponseCode): number {
  const [cls, detail] = code.split('.').map(Number) as [number, number];
  return (cls << 5) | detail;
}

/** 69 → "2.05"; undefined when the byte is not a registered response code. */
export function responseCodeFromByte(byte: number): ResponseCode | undefined {
  const code = `${byte >> 5}.${String(byte & 0x1f).padStart(2, '0')}`;
  return isResponseCode(code) ? code : undefined;
}

export function isSuccessCode(code: ResponseCode): boolean {
  return code.startsWith('2.');
}

const HTTP_STATUS: Readonly<Record<ResponseCode, number>> = {
  '2.01': 201,
  '2.02': 200,
  '2.03': 304,
  '2.04': 200,
  '2.05': 200,
  '2.31': 200,
  '4.00': 400,
  '4.01': 401,
  '4.02': 400,
  '4.03': 403,
  '4.04': 404,
  '4.05': 405,
  '4.06': 406,
  '4.08': 400,
  '4.12': 412,
  '4.13': 413,
  '4.15': 415,
  '5.00': 500,
  '5.01': 501,
  '5.02': 502,
  '5.03': 503,
  '5.04': 504,
  '5.05': 502,
};

/** The HTTP status a REST gateway answers for a CoAP response code (RFC 8075 §7 mapping). */
export function responseCodeToHttpStatus(code: ResponseCode): number {
  return HTTP_STATUS[code];
}

/**
 * Content-format numbers LwM2M uses (Core TS 1.2 §7, Table 7.1-1 and the CoRE registry).
 * TLV and JSON had the provisional numbers 1542/1543 in LwM2M 1.0 drafts; some 1.0 devices still
 * send them, so they are kept as legacy aliases.
 */
export const ContentFormat = {
  TEXT: 0,
  LINK_FORMAT: 40,
  OPAQUE: 42,
  CBOR: 60,
  SENML_JSON: 110,
  SENML_CBOR: 112,
  TLV: 11542,
  LWM2M_JSON: 11543,
  LWM2M_CBOR: 11544,
  LEGACY_TLV: 1542,
  LEGACY_JSON: 1543,
} as const;

export type ContentFormat = (typeof ContentFormat)[keyof typeof ContentFormat];

const MEDIA_TYPES: Readonly<Record<ContentFormat, string>> = {
  0: 'text/plain;charset=utf-8',
  40: 'application/link-format',
  42: 'application/octet-stream',
  60: 'application/cbor',
  110: 'application/senml+json',
  112: 'application/senml+cbor',
  11542: 'application/vnd.oma.lwm2m+tlv',
  11543: 'application/vnd.oma.lwm2m+json',
  11544: 'application/vnd.oma.lwm2m+cbor',
  1542: 'application/vnd.oma.lwm2m+tlv',
  1543: 'application/vnd.oma.lwm2m+json',
};

export function isContentFormat(n: number): n is ContentFormat {
  return Object.hasOwn(MEDIA_TYPES, n);
}

export function contentFormatMediaType(format: ContentFormat): string {
  return MEDIA_TYPES[format];
}

/** Legacy numbers map to the registered ones (1542 → 11542, 1543 → 11543). */
export function canonicalContentFormat(format: ContentFormat): ContentFormat {
  if (format === ContentFormat.LEGACY_TLV) return ContentFormat.TLV;
  if (format === ContentFormat.LEGACY_JSON) return ContentFormat.LWM2M_JSON;
  return format;
}
