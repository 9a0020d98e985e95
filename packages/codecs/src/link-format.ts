import {
  DecodeError,
  EncodeError,
  formatLinkFormat,
  type Link,
  LinkFormatError,
  parseLinkFormat,
} from '@lwm2m-ts/core';

const FORMAT = 'link-format';
const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/**
 * application/link-format (40): Discover answers and Register/Update payloads (Core TS 1.2
 * §6.2.1, §6.3.2). The grammar lives in `@lwm2m-ts/core`; this module adds the bytes and maps
 * its errors to codec errors.
 */
export function encodeLinkFormat(links: readonly Link[]): Uint8Array {
  try {
    return utf8Encoder.encode(formatLinkFormat(links));
  } catch (e) {
    if (e instanceof LinkFormatError)
      throw new EncodeError(e.message, { format: FORMAT, cause: e });
    throw e;
  }
}

export function decodeLinkFormat(bytes: Uint8Array): Link[] {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (e) {
    throw new DecodeError('not valid UTF-8', { format: FORMAT, cause: e });
  }
  try {
    return parseLinkFormat(text);
  } catch (e) {
    if (e instanceof LinkFormatError)
      throw new DecodeError(e.message, { format: FORMAT, cause: e });
    throw e;
  }
}
