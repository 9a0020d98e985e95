import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadDdfDirectory } from '@lwm2m-ts/registry';
import { XMLParser } from 'fast-xml-parser';
import { compare, type Row, rateRow } from './harness.js';

/**
 * Loading the whole OMA registry directory (read, parse, validate, build models) against
 * fast-xml-parser alone reading and parsing the same files: what our model building costs on
 * top of the XML parse we cannot avoid.
 */
export async function registryLoad(dir: string, quick: boolean): Promise<Row> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.xml')).map((f) => join(dir, f));
  const parser = new XMLParser({ ignoreAttributes: false });
  let objects = 0;
  const result = await compare({
    name: `registry: load ${files.length} DDF files`,
    subject: [
      'loadDdfDirectory',
      async () => {
        const { models, errors } = await loadDdfDirectory(dir);
        if (errors.length > 0) throw errors[0];
        objects = models.length;
      },
    ],
    reference: [
      'fast-xml-parser only',
      async () => {
        for (const f of files) parser.parse(await readFile(f, 'utf8'));
      },
    ],
    rounds: quick ? 3 : 9,
    warmup: quick ? 1 : 2,
  });
  return rateRow('6. Registry', { ...result, name: `${result.name} (${objects} objects)` });
}
