import { describe, expect, it } from 'vitest';
import { attributeChips, attributeUpdate, formFromDiscovered } from './attributes';
import { parseRoute } from './router';
import { checkSecurityForm } from './security';

describe('attributeUpdate', () => {
  it('sends what is filled in, null for what is unset, and checks values', () => {
    const form = formFromDiscovered({ pmin: '10', dim: '2', obs: true });
    expect(form.pmin).toEqual({ text: '10', unset: false });
    expect(
      attributeUpdate({
        ...form,
        pmax: { text: '60', unset: false },
        gt: { text: '', unset: true },
      }),
    ).toEqual({ ok: true, update: { pmin: 10, pmax: 60, gt: null } });
    expect(
      attributeUpdate({ pmin: { text: '-1', unset: false }, st: { text: '-2', unset: false } }),
    ).toEqual({
      ok: false,
      errors: { pmin: 'expected a whole number, 0 or more', st: 'expected a number, 0 or more' },
    });
    expect(
      attributeUpdate({ pmin: { text: '30', unset: false }, pmax: { text: '10', unset: false } }),
    ).toMatchObject({
      ok: false,
      errors: { pmax: expect.stringMatching(/minimum period/) },
    });
    expect(attributeUpdate({ edge: { text: '2', unset: false } })).toMatchObject({ ok: false });
    expect(attributeUpdate({ gt: { text: '-5.5', unset: false } })).toEqual({
      ok: true,
      update: { gt: -5.5 },
    });
  });

  it('shows discovered attributes as chips', () => {
    expect(attributeChips({ dim: '2', obs: true, pmin: ['1', '2'] })).toEqual([
      'dim=2',
      'obs',
      'pmin=1 pmin=2',
    ]);
    expect(attributeChips(undefined)).toEqual([]);
  });
});

describe('checkSecurityForm', () => {
  it('builds PSK and no-sec entries and says what is missing', () => {
    expect(
      checkSecurityForm({ endpoint: ' dev ', mode: 'psk', identity: 'id', key: 'AB:cd 01' }),
    ).toEqual({
      ok: true,
      entry: { endpoint: 'dev', mode: 'psk', identity: 'id', key: 'abcd01' },
    });
    expect(checkSecurityForm({ endpoint: 'dev', mode: 'nosec', identity: 'x', key: 'zz' })).toEqual(
      {
        ok: true,
        entry: { endpoint: 'dev', mode: 'nosec' },
      },
    );
    const bad = checkSecurityForm({ endpoint: '', mode: 'psk', identity: '', key: 'abc' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(Object.keys(bad.errors).sort()).toEqual(['endpoint', 'identity', 'key']);
  });
});

describe('parseRoute', () => {
  it('maps paths to views', () => {
    expect(parseRoute('/')).toEqual({ page: 'devices' });
    expect(parseRoute('/clients/')).toEqual({ page: 'devices' });
    expect(parseRoute('/clients/urn%3Aimei%3A1')).toEqual({
      page: 'device',
      endpoint: 'urn:imei:1',
    });
    expect(parseRoute('/security')).toEqual({ page: 'security' });
    expect(parseRoute('/clients/a/b')).toEqual({ page: 'not-found', path: '/clients/a/b' });
    expect(parseRoute('/clients/%E0%A4%A')).toEqual({
      page: 'not-found',
      path: '/clients/%E0%A4%A',
    });
  });
});
