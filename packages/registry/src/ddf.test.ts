import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isExecutable, isReadable, ModelError, type ObjectModel } from '@lwm2m-ts/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDdfDirectory, loadDdfFile, parseDdf } from './ddf.js';
import { REGISTRY_DIR } from './test-paths.js';

const HISTORY_DIR = join(REGISTRY_DIR, 'version_history');

function item(id: string, body: Partial<Record<string, string>> = {}): string {
  const fields = {
    Name: 'Value',
    Operations: 'R',
    MultipleInstances: 'Single',
    Mandatory: 'Optional',
    Type: 'Integer',
    RangeEnumeration: '',
    Units: '',
    Description: 'dropped',
    ...body,
  };
  const xml = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<${k}>${v}</${k}>`)
    .join('');
  return `<Item ID="${id}">${xml}</Item>`;
}

function ddf(opts: { id?: string; items?: string[]; head?: string } = {}): string {
  const id = opts.id === undefined ? '<ObjectID>42000</ObjectID>' : opts.id;
  return `<?xml version="1.0" encoding="UTF-8"?>
<LWM2M><Object ObjectType="MODefinition">
  <Name>Test</Name><Description1>dropped</Description1>${id}
  <ObjectURN>urn:oma:lwm2m:x:42000</ObjectURN>${opts.head ?? ''}
  <MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory>
  <Resources>${(opts.items ?? [item('0')]).join('\n')}</Resources>
  <Description2></Description2>
</Object></LWM2M>`;
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('the OMA registry snapshot', () => {
  let top: Awaited<ReturnType<typeof loadDdfDirectory>>;
  let history: Awaited<ReturnType<typeof loadDdfDirectory>>;
  const latest = (id: number): ObjectModel => top.models.find((m) => m.id === id)!;

  beforeAll(async () => {
    const t0 = performance.now();
    top = await loadDdfDirectory(REGISTRY_DIR);
    history = await loadDdfDirectory(HISTORY_DIR);
    const ms = performance.now() - t0;
    console.log(`loaded ${top.models.length + history.models.length} DDFs in ${ms.toFixed(0)} ms`);
  });

  it('loads all 327 top-level object definitions without error', () => {
    expect(top.errors).toEqual([]);
    expect(top.models).toHaveLength(327);
    expect(new Set(top.models.map((m) => m.id)).size).toBe(327);
  });

  it('skips the three XML files that are not object definitions', () => {
    const skipped = top.skipped.map((s) => s.source.slice(REGISTRY_DIR.length + 1));
    expect(skipped).toEqual(['Common.xml', 'DDF.xml', 'LWM2M_senml_units.xml']);
  });

  it('loads all 424 historic versions, each matching its file name', async () => {
    expect(history.errors).toEqual([]);
    expect(history.skipped).toEqual([]);
    expect(history.models).toHaveLength(424);
    const names = (await readdir(HISTORY_DIR)).filter((n) => n.endsWith('.xml')).sort();
    const fromModels = history.models
      .map((m) => `${m.id}-${m.version.replace('.', '_')}.xml`)
      .sort();
    expect(fromModels).toEqual(names);
  });

  it('loads both levels in one recursive pass', async () => {
    const all = await loadDdfDirectory(REGISTRY_DIR, { recursive: true });
    expect(all.errors).toEqual([]);
    expect(all.models).toHaveLength(327 + 424);
  });

  it('knows the Device object (3)', () => {
    const device = latest(3);
    expect(device).toMatchObject({
      name: 'Device',
      version: '1.2',
      lwm2mVersion: '1.1',
      urn: 'urn:oma:lwm2m:oma:3:1.2',
      multiple: false,
      mandatory: true,
    });
    expect(device.resources.size).toBe(23);
    const manufacturer = device.resources.get(0)!;
    expect(manufacturer).toMatchObject({ name: 'Manufacturer', type: 'string', operations: 'R' });
    expect(isReadable(manufacturer)).toBe(true);
    expect(device.resources.get(9)).toMatchObject({ range: { min: 0, max: 100 }, units: '/100' });
    expect(device.resources.get(4)).toMatchObject({ name: 'Reboot', type: 'none' });
  });

  it('knows Firmware Update /5/0/2 is executable', () => {
    const update = latest(5).resources.get(2)!;
    expect(update.name).toBe('Update');
    expect(isExecutable(update)).toBe(true);
  });

  it('knows the Security object (0): 31 resources, no operations for servers', () => {
    const security = latest(0);
    expect(security.resources.size).toBe(31);
    // Security is for the Bootstrap-Server only, so its resources have no operations.
    expect(security.resources.get(0)).toMatchObject({
      name: 'LWM2M Server URI',
      operations: 'NONE',
      type: 'string',
    });
  });

  it('knows Temperature (3303): 5700 is Float, its units are given by resource 5701', () => {
    const temperature = latest(3303);
    const value = temperature.resources.get(5700)!;
    expect(value).toMatchObject({ name: 'Sensor Value', type: 'float', operations: 'R' });
    // The registry leaves Units of 5700 empty; the client reports them in 5701 (Sensor Units).
    expect(value.units).toBeUndefined();
    expect(temperature.resources.get(5701)).toMatchObject({ name: 'Sensor Units', type: 'string' });
    expect(latest(3305).resources.get(5800)).toMatchObject({
      name: 'Instantaneous active power',
      type: 'float',
      units: 'W',
    });
  });

  it('reads Unsigned Integer and Corelnk (LWM2M-v1_1.xsd)', () => {
    const types = new Set(top.models.flatMap((m) => [...m.resources.values()].map((r) => r.type)));
    expect([...types].sort()).toEqual([
      'boolean',
      'corelnk',
      'float',
      'integer',
      'none',
      'objlnk',
      'opaque',
      'string',
      'time',
      'unsigned',
    ]);
  });

  it('defaults missing and empty versions to 1.0', () => {
    // 3-1_0.xml has no ObjectVersion/LWM2MVersion; 12-1_0.xml has empty ones.
    for (const id of [3, 12]) {
      const v1 = history.models.find((m) => m.id === id && m.version === '1.0')!;
      expect(v1.lwm2mVersion).toBe('1.0');
    }
  });

  it('decodes character references (10308 writes &#60;7 to &#62;12.5)', () => {
    const texts = latest(10308).resources;
    expect([...texts.values()].some((r) => r.rangeEnumeration === '<7 to >12.5')).toBe(true);
  });

  it('keeps only facts, never descriptions', () => {
    const objectKeys = new Set<string>();
    const resourceKeys = new Set<string>();
    for (const m of top.models) {
      for (const k of Object.keys(m)) objectKeys.add(k);
      for (const r of m.resources.values()) for (const k of Object.keys(r)) resourceKeys.add(k);
    }
    expect([...objectKeys].sort()).toEqual([
      'id',
      'lwm2mVersion',
      'mandatory',
      'multiple',
      'name',
      'resources',
      'urn',
      'version',
    ]);
    expect([...resourceKeys].sort()).toEqual([
      'enumeration',
      'id',
      'mandatory',
      'multiple',
      'name',
      'operations',
      'range',
      'rangeEnumeration',
      'type',
      'units',
    ]);
  });
});

describe('parseDdf', () => {
  it('parses a minimal object and drops descriptions', () => {
    const [model] = parseDdf(ddf({ items: [item('0'), item('1', { Type: 'Unsigned Integer' })] }));
    expect(model).toMatchObject({
      id: 42000,
      name: 'Test',
      version: '1.0',
      lwm2mVersion: '1.0',
      multiple: true,
      mandatory: false,
    });
    expect(model!.resources.get(1)).toEqual({
      id: 1,
      name: 'Value',
      operations: 'R',
      multiple: false,
      mandatory: false,
      type: 'unsigned',
    });
    expect(Object.isFrozen(model)).toBe(true);
  });

  it('reads several objects in one document', () => {
    const one = ddf();
    const object = one.slice(one.indexOf('<Object '), one.indexOf('</LWM2M>'));
    const two = `<LWM2M>${object}${object.replace('42000</ObjectID>', '42001</ObjectID>')}</LWM2M>`;
    expect(parseDdf(two).map((m) => m.id)).toEqual([42000, 42001]);
  });

  it('tolerates case, whitespace, a BOM and missing RangeEnumeration/Units', () => {
    const xml = `\uFEFF${ddf({
      head: '<LWM2MVersion> 1.1 </LWM2MVersion><ObjectVersion>2.0</ObjectVersion>',
      items: [
        item('7', {
          Name: '\n  Two   words\n',
          Operations: ' rw ',
          MultipleInstances: 'multiple',
          Mandatory: 'MANDATORY',
          Type: ' unsigned  integer ',
          RangeEnumeration: undefined,
          Units: undefined,
        }),
        item('8', { Operations: '', Type: '' }),
        item('9', { Type: 'CoreLnk' }),
      ],
    })}`;
    const [model] = parseDdf(xml);
    expect(model).toMatchObject({ version: '2.0', lwm2mVersion: '1.1' });
    expect(model!.resources.get(7)).toEqual({
      id: 7,
      name: 'Two words',
      operations: 'RW',
      multiple: true,
      mandatory: true,
      type: 'unsigned',
    });
    expect(model!.resources.get(8)).toMatchObject({ operations: 'NONE', type: 'none' });
    expect(model!.resources.get(9)).toMatchObject({ type: 'corelnk' });
  });

  it('keeps RangeEnumeration text and parses ranges and lists', () => {
    const [model] = parseDdf(
      ddf({
        items: [
          item('1', { RangeEnumeration: '-40..85', Units: 'Cel' }),
          item('2', { RangeEnumeration: '0;1' }),
          item('3', { RangeEnumeration: '0..255 bytes', Type: 'String' }),
        ],
      }),
    );
    expect(model!.resources.get(1)).toMatchObject({
      rangeEnumeration: '-40..85',
      range: { min: -40, max: 85 },
      units: 'Cel',
    });
    expect(model!.resources.get(2)).toMatchObject({ enumeration: ['0', '1'] });
    expect(model!.resources.get(3)).toMatchObject({ rangeEnumeration: '0..255 bytes' });
    expect(model!.resources.get(3)).not.toHaveProperty('range');
  });

  it('does not expand DOCTYPE entities, but decodes the predefined ones', () => {
    const xml = ddf({ items: [item('0', { Name: '&a;&lt;b&gt;&amp;&#x41;&#66;' })] }).replace(
      '<LWM2M>',
      '<!DOCTYPE LWM2M [<!ENTITY a "expanded">]><LWM2M>',
    );
    expect(parseDdf(xml)[0]!.resources.get(0)!.name).toBe('&a;<b>&AB');
  });

  it('keeps CDATA verbatim', () => {
    const xml = ddf({ items: [item('0', { Name: '<![CDATA[a &amp; b]]>' })] });
    expect(parseDdf(xml)[0]!.resources.get(0)!.name).toBe('a &amp; b');
  });

  const bad: [string, string, RegExp][] = [
    ['not XML', 'this is not xml', /bad\.xml: not well-formed XML/],
    ['JSON', '{"ObjectID": 3}', /bad\.xml: not well-formed XML/],
    ['unclosed tags', '<LWM2M><Object>', /bad\.xml: not well-formed XML: .*LWM2M/],
    ['no Object', '<LWM2M></LWM2M>', /bad\.xml: no <Object> element/],
    [
      'another root',
      '<DDFList><Item/></DDFList>',
      /bad\.xml: not an object definition: root element is <DDFList>/,
    ],
    ['missing ObjectID', ddf({ id: '' }), /bad\.xml: <Object> #1: missing <ObjectID>/],
    [
      'non-numeric ObjectID',
      ddf({ id: '<ObjectID>three</ObjectID>' }),
      /ObjectID "three" is not a number/,
    ],
    [
      'ObjectID out of range',
      ddf({ id: '<ObjectID>70000</ObjectID>' }),
      /ObjectID "70000" is not a number in 0..65535/,
    ],
    [
      'missing resource ID',
      ddf({ items: [item('0').replace(' ID="0"', '')] }),
      /object 42000, <Item> #1: missing ID attribute/,
    ],
    ['non-numeric resource ID', ddf({ items: [item('x')] }), /resource ID "x" is not a number/],
    [
      'duplicate resource ids',
      ddf({ items: [item('5'), item('5')] }),
      /object 42000: duplicate resource id 5/,
    ],
    [
      'unknown type',
      ddf({ items: [item('1', { Type: 'Double' })] }),
      /object 42000, resource 1: unknown type "Double"/,
    ],
    [
      'unknown operations',
      ddf({ items: [item('1', { Operations: 'RWX' })] }),
      /resource 1: unknown operations "RWX"/,
    ],
    [
      'bad multiplicity',
      ddf({ items: [item('1', { MultipleInstances: 'Many' })] }),
      /MultipleInstances "Many"/,
    ],
    [
      'missing Type',
      ddf({ items: [item('1', { Type: undefined })] }),
      /resource 1: missing <Type>/,
    ],
    [
      'repeated Name',
      ddf({ items: [item('1', { Name: 'a</Name><Name>b' })] }),
      /<Name> appears more than once/,
    ],
    [
      'bad version',
      ddf({ head: '<ObjectVersion>v2</ObjectVersion>' }),
      /ObjectVersion "v2" is not major.minor/,
    ],
    [
      'text in Resources',
      ddf({ items: ['not an item'] }),
      /<Resources> holds text instead of <Item> elements/,
    ],
    [
      'reserved element names',
      ddf({ items: [item('1').replace('<Name>', '<__proto__>x</__proto__><Name>')] }),
      /bad\.xml: cannot parse: .*__proto__/,
    ],
  ];
  it.each(bad)('rejects %s with a ModelError naming the file', (_, xml, message) => {
    const e = caught(() => parseDdf(xml, 'bad.xml'));
    expect(e).toBeInstanceOf(ModelError);
    expect((e as ModelError).source).toBe('bad.xml');
    expect((e as ModelError).message).toMatch(message);
  });

  it('throws only ModelError, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        try {
          parseDdf(s);
        } catch (e) {
          if (!(e instanceof ModelError)) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('throws only ModelError on mutated real DDF text', async () => {
    const real = await readFile(join(REGISTRY_DIR, '3.xml'), 'utf8');
    const mutation = fc.oneof(
      // Cut a slice out.
      fc
        .tuple(fc.nat(real.length), fc.nat(200))
        .map(([at, n]) => real.slice(0, at) + real.slice(at + n)),
      // Insert markup-ish noise.
      fc
        .tuple(fc.nat(real.length), fc.stringMatching(/^[<>/&;#"'= a-zA-Z0-9\]![]{1,12}$/))
        .map(([at, s]) => real.slice(0, at) + s + real.slice(at)),
      // Replace the text of one element.
      fc
        .tuple(
          fc.constantFrom('ObjectID', 'Type', 'Operations', 'Mandatory', 'Name'),
          fc.string({ maxLength: 8 }),
        )
        .map(([tag, s]) => real.replace(new RegExp(`<${tag}>[^<]*`), `<${tag}>${s}`)),
    );
    fc.assert(
      fc.property(mutation, (xml) => {
        try {
          const models = parseDdf(xml, '3.xml');
          expect(models.length).toBeGreaterThan(0);
        } catch (e) {
          if (!(e instanceof ModelError)) throw e;
          expect(e.source).toBe('3.xml');
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('loadDdfFile / loadDdfDirectory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lwm2m-ddf-'));
    await writeFile(join(dir, 'good.xml'), ddf());
    await writeFile(join(dir, 'bad.xml'), ddf({ items: [item('1'), item('1')] }));
    await writeFile(join(dir, 'notes.txt'), 'not a DDF and not .xml: ignored');
    await writeFile(join(dir, 'list.xml'), '<DDFList></DDFList>');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'deep.XML'), ddf({ id: '<ObjectID>42001</ObjectID>' }));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads one file', async () => {
    expect((await loadDdfFile(join(dir, 'good.xml'))).map((m) => m.id)).toEqual([42000]);
  });

  it('rejects a missing file with a ModelError naming it', async () => {
    const path = join(dir, 'missing.xml');
    await expect(loadDdfFile(path)).rejects.toMatchObject({ name: 'ModelError', source: path });
  });

  it('reports the bad file and still loads the good ones', async () => {
    const result = await loadDdfDirectory(dir);
    expect(result.models.map((m) => m.id)).toEqual([42000]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toBeInstanceOf(ModelError);
    expect(result.errors[0]!.source).toBe(join(dir, 'bad.xml'));
    expect(result.errors[0]!.message).toMatch(/duplicate resource id 1/);
    expect(result.skipped).toEqual([
      { source: join(dir, 'list.xml'), reason: 'root element is <DDFList>' },
    ]);
  });

  it('descends into sub-directories when asked', async () => {
    const result = await loadDdfDirectory(dir, { recursive: true });
    expect(result.models.map((m) => m.id).sort()).toEqual([42000, 42001]);
  });

  it('rejects a missing directory', async () => {
    await expect(loadDdfDirectory(join(dir, 'nope'))).rejects.toBeInstanceOf(ModelError);
  });
});
