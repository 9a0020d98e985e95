// Builds the two pages into dist/: dist/server/ (the LwM2M server's page) and dist/bootstrap/
// (the bootstrap server's page), each with index.html, favicon.svg, licenses.txt and assets/
// (content-hashed JS and CSS, so the servers can cache them for good). No network: everything
// is bundled. Each page must stay within the budget.
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');
const require = createRequire(import.meta.url);

/** Budget for each page's minified bundle (JS + CSS), in bytes. */
const BUDGET = 100 * 1024;

/** The pages: output directory, entry point, HTML template, asset name. */
const PAGES = [
  { dir: 'server', entry: 'main.tsx', html: 'index.html', name: 'app' },
  {
    dir: 'bootstrap',
    entry: 'bootstrap/main.tsx',
    html: 'bootstrap/index.html',
    name: 'bootstrap',
  },
];

await rm(dist, { recursive: true, force: true });

// Preact is bundled into the pages: ship its licence with them.
const preactLicense = await readFile(
  path.join(path.dirname(require.resolve('preact/package.json')), 'LICENSE'),
  'utf8',
);

const over = [];
for (const page of PAGES) {
  const out = path.join(dist, page.dir);
  await mkdir(path.join(out, 'assets'), { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { [page.name]: path.join(src, page.entry) },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    charset: 'utf8',
    legalComments: 'none',
    outdir: path.join(out, 'assets'),
    entryNames: '[name]-[hash]',
    metafile: true,
    logLevel: 'warning',
  });

  /** @type {{ js?: string, css?: string }} */
  const names = {};
  let total = 0;
  const sizes = [];
  for (const [file, info] of Object.entries(result.metafile.outputs)) {
    const name = path.basename(file);
    if (name.endsWith('.js')) names.js = name;
    else if (name.endsWith('.css')) names.css = name;
    const bytes = await readFile(path.join(root, file));
    total += info.bytes;
    sizes.push(`${name} ${info.bytes} B (${gzipSync(bytes).length} B gzip)`);
  }
  if (names.js === undefined || names.css === undefined) {
    throw new Error(
      `esbuild did not emit one JS and one CSS file for ${page.dir}: ${Object.keys(result.metafile.outputs)}`,
    );
  }

  const template = await readFile(path.join(src, page.html), 'utf8');
  const html = template
    .replace('%STYLE%', `/assets/${names.css}`)
    .replace('%SCRIPT%', `/assets/${names.js}`);
  await writeFile(path.join(out, 'index.html'), html);
  await copyFile(path.join(src, 'favicon.svg'), path.join(out, 'favicon.svg'));
  await writeFile(
    path.join(out, 'licenses.txt'),
    `The page bundles Preact (https://preactjs.com), under this licence:\n\n${preactLicense}`,
  );

  console.log(`web-ui ${page.dir}: ${sizes.join(', ')}; total ${total} B minified`);
  if (total > BUDGET) over.push(`${page.dir}: ${total} B`);
}
if (over.length > 0) {
  throw new Error(`web-ui: over the ${BUDGET} B budget: ${over.join(', ')}`);
}
