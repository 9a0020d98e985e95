import { readFileSync } from 'node:fs';
import { ObjectRegistry } from '@lwm2m-ts/registry';
import { expect, it } from 'vitest';
import { decodeValues } from './codec.js';

// The README's five-line example decodes a real SenML CBOR payload: keep it true.
it('decodes the SenML CBOR payload shown in the README', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const hex = /Buffer\.from\('([0-9a-f]+)', 'hex'\)/.exec(readme)?.[1];
  expect(hex).toBeDefined();
  const values = decodeValues(112, Buffer.from(hex!, 'hex'), {
    model: ObjectRegistry.withBuiltins(),
  });
  expect(values.map(({ path, value, time }) => [`${path}`, value.value, time])).toEqual([
    ['/3303/0/5700', 22.5, 1_700_000_000],
    ['/3/0/9', 87n, 1_700_000_000],
  ]);
});
