import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors';
import type { BootstrapConfig } from './api';
import { bsErrorWords } from './errors';
import {
  checkConfigForm,
  emptyForm,
  fieldInWords,
  formField,
  formFields,
  formFromConfig,
  guessScalar,
  newAcl,
  newWrite,
  problemOf,
  scalarOf,
  uriForMode,
} from './form';
import { parseBsRoute } from './router';

const FULL: BootstrapConfig = {
  servers: [
    {
      shortServerId: 101,
      uri: 'coaps://dm.example:5684',
      securityMode: 'psk',
      pskIdentity: 'dev-1',
      pskKey: '000102',
      lifetime: 300,
      binding: 'UQ',
      defaultMinPeriod: 1,
      defaultMaxPeriod: 60,
      notificationStoring: false,
      securityInstanceId: 2,
      serverInstanceId: 0,
    },
    {
      shortServerId: 102,
      uri: 'coap://dm2.example:5683',
      securityMode: 'nosec',
      lifetime: 60,
      binding: 'U',
      notificationStoring: true,
    },
  ],
  bootstrapServer: {
    uri: 'coaps://bs.example:5784',
    securityMode: 'psk',
    pskIdentity: 'dev-1-bs',
    pskKey: 'a1b2',
    instanceId: 0,
    clientHoldOffTime: 5,
  },
  bootstrapCredentials: { identity: 'dev-1-bs', key: 'a1b2' },
  acls: [{ objectId: 3, instanceId: 0, acl: { '0': 1, '101': 7 }, owner: 101 }],
  deletePaths: ['/1', '/0/1'],
  writes: [
    { path: '/3/0/14', value: '+02:00' },
    { path: '/3/0/15', value: '42' },
    { path: '/9999/0/1', type: 'opaque', value: 'cafe' },
    { path: '/9999/0/2', type: 'integer', values: { '0': 1, '3': 2 } },
  ],
  discover: true,
  read: ['/1'],
  lwm2mVersion: '1.1',
  contentFormat: 112,
};

describe('the configuration form', () => {
  it('round-trips a full configuration (ACL rights as letters, text that looks like a number quoted)', () => {
    const form = formFromConfig('dev-1', FULL);
    expect(form.acls[0]!.acl).toBe('0:R, 101:RWE');
    expect(form.writes[1]!.value).toBe('"42"');
    expect(form.writes[3]!.value).toBe('0=1\n3=2');
    expect(form.credentials).toEqual({ mode: 'psk', identity: 'dev-1-bs', key: 'a1b2' });
    const checked = checkConfigForm(form);
    expect(checked).toMatchObject({ ok: true, endpoint: 'dev-1' });
    if (!checked.ok) return;
    expect(checked.config).toEqual({
      ...FULL,
      acls: [{ objectId: 3, instanceId: 0, acl: { '0': 'R', '101': 'RWE' }, owner: 101 }],
    });
  });

  it('builds a NoSec configuration from the new form, with the defaults', () => {
    const form = emptyForm('dev-2');
    const checked = checkConfigForm({
      ...form,
      servers: [{ ...form.servers[0]!, uri: 'coap://127.0.0.1:5683' }],
    });
    expect(checked).toEqual({
      ok: true,
      endpoint: 'dev-2',
      config: {
        servers: [
          {
            shortServerId: 101,
            uri: 'coap://127.0.0.1:5683',
            securityMode: 'nosec',
            lifetime: 300,
            binding: 'U',
            notificationStoring: true,
          },
        ],
        deletePaths: ['/'],
      },
    });
  });

  it('says what is wrong with each field, keyed as the API names them', () => {
    const form = emptyForm('');
    const s = form.servers[0]!;
    const checked = checkConfigForm({
      ...form,
      credentials: { mode: 'psk', identity: '', key: 'xyz' },
      servers: [
        { ...s, uri: 'coap://h', securityMode: 'psk', pskIdentity: 'i', pskKey: 'not hex' },
        { ...s, uri: 'http://h', lifetime: '0', binding: 'UU' },
      ],
      acls: [{ ...newAcl(), objectId: '3', acl: '101:RWX', owner: '101' }],
      writes: [
        { ...newWrite(), path: '/1/0/1', value: '1' },
        { ...newWrite(), path: '/3/0/9', type: 'integer', value: 'lots' },
      ],
      deletePaths: '/ /a',
      read: '/3',
      lwm2mVersion: '1.0',
    });
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.errors).toEqual({
      endpoint: expect.stringMatching(/endpoint name/),
      'bootstrapCredentials.identity': 'required with a pre-shared key',
      'bootstrapCredentials.key': expect.stringMatching(/^not hex/),
      'servers[0].uri': 'a pre-shared key needs a coaps:// URI',
      'servers[0].pskKey': expect.stringMatching(/^not hex/),
      'servers[1].shortServerId': '101 is already used by DM server 1',
      'servers[1].uri': 'a coap:// or coaps:// URI',
      'servers[1].lifetime': 'a whole number from 1 to 2147483647',
      'servers[1].binding': expect.stringMatching(/binding letters/),
      'acls[0].acl': expect.stringMatching(/R, W, E, D, C/),
      'writes[0].path': expect.stringMatching(/objects 0, 1 and 2/),
      'writes[1].value': 'a whole number',
      deletePaths: expect.stringMatching(/^\/a is not a path/),
      read: expect.stringMatching(/^\/3 is not a path/),
    });
  });

  it('turns text into JSON values by type, or guesses numbers and booleans', () => {
    expect(guessScalar('12')).toBe(12);
    expect(guessScalar('1.5')).toBe(1.5);
    expect(guessScalar('true')).toBe(true);
    expect(guessScalar('"12"')).toBe('12');
    expect(guessScalar('+02:00')).toBe('+02:00');
    expect(guessScalar('123456789012345678901')).toBe('123456789012345678901');
    expect(scalarOf('string', '"12"')).toEqual({ value: '12' });
    expect(scalarOf('float', 'x')).toEqual({ error: 'a number, e.g. 21.5' });
    expect(scalarOf('boolean', '1')).toEqual({ value: true });
    expect(scalarOf('opaque', 'CA:FE')).toEqual({ value: 'cafe' });
    expect(scalarOf('opaque', 'xyz')).toEqual({ error: 'hex digits, two per byte' });
    expect(scalarOf('time', '2024-05-01T12:00:00Z')).toEqual({ value: '2024-05-01T12:00:00Z' });
    expect(scalarOf('objlnk', '3:0')).toEqual({ value: '3:0' });
  });

  it('puts the server’s field errors next to the nearest input, in words', () => {
    const form = formFromConfig('dev-1', FULL);
    const shown = new Set(formFields(form));
    const near = (f: string) => formField(f, (x) => shown.has(x));
    expect(near('servers[0].pskKey')).toBe('servers[0].pskKey');
    expect(near('writes[3].values["3"]')).toBe('writes[3].value');
    expect(near('acls[0].acl["101"]')).toBe('acls[0].acl');
    expect(near('servers[0].securityMode')).toBeUndefined();
    expect(near('')).toBeUndefined();
    expect(fieldInWords('servers[0].pskKey')).toBe('DM server 1, key');
    expect(fieldInWords('bootstrapCredentials.identity')).toBe(
      'Credentials toward this bootstrap server, PSK identity',
    );
    expect(fieldInWords('writes[1].type')).toBe('Other value 2, type');
    expect(fieldInWords('deletePaths')).toBe('Bootstrap-Delete paths');
    expect(problemOf('servers[0].uri: must be a coap:// URI', 'servers[0].uri')).toBe(
      'must be a coap:// URI',
    );
    expect(uriForMode('coap://h:5683', 'psk')).toBe('coaps://h:5683');
    expect(uriForMode('coaps://h:5684', 'nosec')).toBe('coap://h:5684');
  });

  it('words the bootstrap server’s errors', () => {
    expect(
      bsErrorWords(
        new ApiError(400, {
          error: 'BootstrapConfigError',
          field: 'servers[0].pskKey',
          message: 'servers[0].pskKey: must be the key in hex',
        }),
      ).title,
    ).toBe('DM server 1, key: must be the key in hex');
    expect(
      bsErrorWords(new ApiError(409, { error: 'IdentityInUseError', message: 'taken' })),
    ).toEqual({
      title: 'another endpoint already uses this PSK identity toward the bootstrap server',
      detail: 'taken',
    });
    expect(bsErrorWords(new ApiError(0, {}, 'x')).title).toMatch(/cannot be reached/);
  });

  it('routes the page’s views', () => {
    expect(parseBsRoute('/')).toEqual({ page: 'list' });
    expect(parseBsRoute('/configs/')).toEqual({ page: 'list' });
    expect(parseBsRoute('/new')).toEqual({ page: 'new' });
    expect(parseBsRoute('/configs/urn%3Aimei%3A1')).toEqual({
      page: 'edit',
      endpoint: 'urn:imei:1',
    });
    expect(parseBsRoute('/configs/%E0%A4%A')).toMatchObject({ page: 'not-found' });
    expect(parseBsRoute('/clients')).toMatchObject({ page: 'not-found' });
  });
});
