// Builds the page into dist/: index.html, favicon.svg, licenses.txt and assets/ (content-hashed
// JS and CSS, so the server can cache them for good). No network: everything is bundled.
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

/** Budget for the minified bundle (JS + CSS), in bytes. */
const BUDGET = 100 * 1024;

await rm(dist, { recursive: true, force: true });
await mkdir(path.join(dist, 'assets'), { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: { app: path.join(src, 'main.tsx') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome100', 'firefox100', 'safari15'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  charset: 'utf8',
  legalComments: 'none',
  outdir: path.join(dist, 'assets'),
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
    `esbuild did not emit one JS and one CSS file: ${Object.keys(result.metafile.outputs)}`,
  );
}

const template = await readFile(path.join(src, 'index.html'), 'utf8');
const html = template
  .replace('%STYLE%', `/assets/${names.css}`)
  .replace('%SCRIPT%', `/assets/${names.js}`);
await writeFile(path.join(dist, 'index.html'), html);
await copyFile(path.join(src, 'favicon.svg'), path.join(dist, 'favicon.svg'));

// Preact is bundled into the page: ship its licence with it.
const preactLicense = await readFile(
  path.join(path.dirname(require.resolve('preact/package.json')), 'LICENSE'),
  'utf8',
);
await writeFile(
  path.join(dist, 'licenses.txt'),
  `The page bundles Preact (https://preactjs.com), under this licence:\n\n${preactLicense}`,
);

console.log(`web-ui: ${sizes.join(', ')}; total ${total} B minified`);
if (total > BUDGET) {
  throw new Error(`web-ui: the bundle is ${total} B, over the ${BUDGET} B budget`);
}
