import { ObjectRegistry } from '@lwm2m-ts/registry';
import { describe, expect, it } from 'vitest';
import { BootstrapConfigError, validateBootstrapConfig } from './config.js';
import { planValues, planWrites } from './plan.js';
import { readDiscovery } from './server.js';

const registry = ObjectRegistry.withBuiltins();
const SERVER = {
  shortServerId: 1,
  uri: 'coap://dm.example:5683',
  securityMode: 'nosec',
  lifetime: 300,
};

function validate(input: unknown) {
  return validateBootstrapConfig(input, registry);
}

/** The error's field and message. */
function problem(input: unknown): { field: string; message: string } {
  try {
    validate(input);
  } catch (err) {
    expect(err).toBeInstanceOf(BootstrapConfigError);
    const e = err as BootstrapConfigError;
    return { field: e.field, message: e.message };
  }
  throw new Error('expected a BootstrapConfigError');
}

describe('validateBootstrapConfig', () => {
  it('normalizes: defaults filled, keys in lowercase hex, bytes accepted, ACL rights as bits', () => {
    const c = validate({
      servers: [
        SERVER,
        {
          shortServerId: 2,
          uri: 'coaps://dm.example:5684',
          securityMode: 'psk',
          pskIdentity: 'id',
          pskKey: new Uint8Array([0xab, 0xcd]),
          lifetime: 60,
          binding: 'UQ',
          notificationStoring: false,
        },
      ],
      bootstrapCredentials: { identity: 'bs-id', key: 'ABCDEF' },
      acls: [{ objectId: 3, instanceId: 0, acl: { '0': 'r', '2': 'RWEDC', '1': 5 }, owner: 1 }],
    });
    expect(c.servers[0]).toEqual({ ...SERVER, binding: 'U', notificationStoring: true });
    expect(c.servers[1]).toMatchObject({
      pskKey: 'abcd',
      binding: 'UQ',
      notificationStoring: false,
    });
    expect(c.bootstrapCredentials).toEqual({ identity: 'bs-id', key: 'abcdef' });
    expect(c.acls![0]!.acl).toEqual({ '0': 1, '1': 5, '2': 31 });
    expect(c.deletePaths).toEqual(['/']);
    // The normalized form validates to itself (what the file store reads back).
    expect(validate(JSON.parse(JSON.stringify(c)))).toEqual(c);
  });

  it('names the field of every problem', () => {
    const bad = (server: object) => problem({ servers: [{ ...SERVER, ...server }] });
    expect(bad({ uri: 'http://x' })).toEqual({
      field: 'servers[0].uri',
      message: 'servers[0].uri: must be a coap:// or coaps:// URI, got "http://x"',
    });
    expect(bad({ uri: 'coaps://x' }).message).toBe(
      'servers[0].uri: a coaps:// URI needs securityMode "psk"',
    );
    expect(bad({ securityMode: 'psk' }).field).toBe('servers[0].uri');
    expect(bad({ uri: 'coaps://x', securityMode: 'psk', pskIdentity: 'i' }).field).toBe(
      'servers[0].pskKey',
    );
    expect(bad({ uri: 'coaps://x', securityMode: 'psk', pskKey: '00' }).field).toBe(
      'servers[0].pskIdentity',
    );
    expect(
      bad({ uri: 'coaps://x', securityMode: 'psk', pskIdentity: 'i', pskKey: 'xyz' }).field,
    ).toBe('servers[0].pskKey');
    expect(bad({ pskKey: '00' }).message).toBe('servers[0].pskKey: not allowed with "nosec"');
    expect(bad({ securityMode: 'rpk' }).field).toBe('servers[0].securityMode');
    expect(bad({ shortServerId: 0 }).field).toBe('servers[0].shortServerId');
    expect(bad({ shortServerId: 65535 }).field).toBe('servers[0].shortServerId');
    expect(bad({ lifetime: undefined }).field).toBe('servers[0].lifetime');
    expect(bad({ lifetime: 1.5 }).field).toBe('servers[0].lifetime');
    expect(bad({ binding: 'X' }).field).toBe('servers[0].binding');
    expect(bad({ binding: 'UU' }).field).toBe('servers[0].binding');
    expect(bad({ defaultMinPeriod: 10, defaultMaxPeriod: 5 }).field).toBe(
      'servers[0].defaultMaxPeriod',
    );
    expect(bad({ lifetme: 3 }).message).toMatch(/^servers\[0\]\.lifetme: unknown field/);
    expect(problem({ servers: [SERVER, SERVER] }).message).toBe(
      'servers[1].shortServerId: 1 is already used by servers[0]',
    );
    expect(
      problem({
        servers: [
          { ...SERVER, securityInstanceId: 3 },
          { ...SERVER, shortServerId: 2, securityInstanceId: 3 },
        ],
      }).field,
    ).toBe('servers[1].securityInstanceId');
    expect(problem({}).field).toBe('servers');
    expect(problem([]).field).toBe('');
    expect(problem({ servers: [], extra: 1 }).field).toBe('extra');
    expect(problem({ servers: [], bootstrapCredentials: { identity: 'x' } }).field).toBe(
      'bootstrapCredentials.key',
    );
    expect(
      problem({ servers: [], acls: [{ objectId: 3, instanceId: 0, acl: { '1': 'RX' }, owner: 1 }] })
        .field,
    ).toBe('acls[0].acl["1"]');
    expect(problem({ servers: [], deletePaths: ['/3/0/1'] }).field).toBe('deletePaths[0]');
    expect(problem({ servers: [], deletePaths: ['3'] }).field).toBe('deletePaths[0]');
    expect(problem({ servers: [], contentFormat: 0 }).field).toBe('contentFormat');
    expect(problem({ servers: [], lwm2mVersion: '2.0' }).field).toBe('lwm2mVersion');
  });

  it('allows Bootstrap-Read only on objects 1 and 2, and not for 1.0', () => {
    expect(validate({ servers: [], read: ['/1', '/2/0'] }).read).toEqual(['/1', '/2/0']);
    expect(problem({ servers: [], read: ['/0'] }).message).toBe(
      'read[0]: Bootstrap-Read targets only the Server (1) and Access Control (2) objects',
    );
    expect(problem({ servers: [], read: ['/1/0/1'] }).field).toBe('read[0]');
    expect(problem({ servers: [], read: ['/1'], lwm2mVersion: '1.0' }).field).toBe('read');
  });

  it('types writes by the object models, or by an explicit type for unknown resources', () => {
    const c = validate({
      servers: [],
      writes: [
        { path: '/3/0/14', value: '+02:00' },
        { path: '/3/0/7', values: { '0': 3800, '1': '5000' } },
        { path: '/9999/0/1', type: 'opaque', value: 'cafe' },
      ],
    });
    expect(c.writes).toHaveLength(3);
    const w = (entry: object) => problem({ servers: [], writes: [entry] });
    expect(w({ path: '/3/0/14', value: 5 }).field).toBe('writes[0].value');
    expect(w({ path: '/3/0/7', value: 1 }).message).toMatch(/multiple resource: use "values"/);
    expect(w({ path: '/3/0/14', values: { '0': 'x' } }).field).toBe('writes[0].values');
    expect(w({ path: '/9999/0/1', value: 1 }).field).toBe('writes[0].type');
    expect(w({ path: '/3/0/4', value: 1 }).message).toMatch(/executable/);
    expect(w({ path: '/3/0', value: 1 }).field).toBe('writes[0].path');
    expect(w({ path: '/1/0/1', value: 1 }).field).toBe('writes[0].path');
    expect(w({ path: '/3/0/14' }).field).toBe('writes[0]');
    expect(w({ path: '/3/0/14', value: 'a', type: 'integer' }).field).toBe('writes[0].type');
    expect(
      problem({
        servers: [],
        writes: [
          { path: '/3/0/14', value: 'a' },
          { path: '/3/0/14', value: 'b' },
        ],
      }).field,
    ).toBe('writes[1].path');
  });
});

describe('planWrites', () => {
  const config = validate({
    servers: [
      { ...SERVER, shortServerId: 10 },
      { ...SERVER, shortServerId: 20, serverInstanceId: 0 },
    ],
    acls: [{ objectId: 5, instanceId: 0, acl: {}, owner: 65535 }],
    writes: [
      { path: '/5/0/1', value: 'coap://fw.example/fw.bin' },
      { path: '/3/0/15', value: 'Europe/Paris' },
      { path: '/3/0/14', value: '+01:00' },
    ],
  });

  it('keeps the bootstrap account’s Security id clear and writes in Core TS order', () => {
    const plan = planWrites(config, registry);
    expect(plan.map((w) => `${w.kind} ${w.path}`)).toEqual([
      'security /0/1',
      'security /0/2',
      'server /1/1',
      'server /1/0',
      'acl /2/0',
      'object /3/0',
      'object /5/0',
    ]);
    // Discovery showed the bootstrap account at /0/1: the DM accounts take 0 and 2.
    const moved = planWrites(config, registry, { bootstrapAccountIds: [1] });
    expect(moved.slice(0, 2).map((w) => `${w.path}`)).toEqual(['/0/0', '/0/2']);
    expect(planValues(plan).map((v) => `${v.path}`)).toContain('/3/0/15');
  });

  it('writes the bootstrap account itself only when configured', () => {
    const withBs = planWrites(
      validate({
        servers: [SERVER],
        bootstrapServer: {
          uri: 'coaps://bs.example:5784',
          securityMode: 'psk',
          pskIdentity: 'bs',
          pskKey: '01',
          instanceId: 4,
          clientHoldOffTime: 10,
        },
      }),
      registry,
    );
    expect(withBs.map((w) => `${w.path}`)).toEqual(['/0/4', '/0/0', '/1/0']);
    const bs = planValues(withBs.slice(0, 1));
    expect(bs.find((v) => `${v.path}` === '/0/4/1')?.value).toEqual({
      type: 'boolean',
      value: true,
    });
    expect(bs.find((v) => `${v.path}` === '/0/4/11')?.value).toEqual({
      type: 'integer',
      value: 10n,
    });
  });
});

describe('readDiscovery', () => {
  it('reads the version and the bootstrap account (the /0 instance without ssid)', () => {
    expect(
      readDiscovery('</>;lwm2m="1.1",</0/0>;ssid=101;uri="coap://x",</0/3>,</1/0>;ssid=101,</3/0>'),
    ).toEqual({ version: '1.1', bootstrapAccountIds: [3] });
    expect(readDiscovery('</0/0>,</0/1>,</3/0>')).toEqual({ bootstrapAccountIds: [0, 1] });
  });
});
