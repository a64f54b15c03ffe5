// Builds the dashboard into web/dist: one JS and one CSS file with content hashes, and index.html
// naming them. Fails when the bundle (JS + CSS + HTML, gzipped) is over the budget.
// Usage: node web/build.mjs [--dev]   (--dev: no minification, with source maps)
import * as esbuild from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
const dist = join(here, 'dist');
export const BUDGET_GZIP_BYTES = 150 * 1024;
const dev = process.argv.includes('--dev');

const result = await esbuild.build({
  entryPoints: [join(src, 'main.js')],
  bundle: true,
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  minify: !dev,
  sourcemap: dev,
  legalComments: 'none',
  entryNames: 'assets/app-[hash]',
  outdir: dist,
  write: false,
  metafile: true,
  logLevel: 'warning',
});

rmSync(dist, { recursive: true, force: true });
const files = {};
for (const file of result.outputFiles) {
  mkdirSync(dirname(file.path), { recursive: true });
  writeFileSync(file.path, file.contents);
  files[relative(dist, file.path)] = file.contents;
}
const asset = (ext) => '/' + Object.keys(files).find((f) => f.endsWith(ext));
const page = readFileSync(join(src, 'index.html'), 'utf8').replace('{{CSS}}', asset('.css')).replace('{{JS}}', asset('.js'));
writeFileSync(join(dist, 'index.html'), page);
files['index.html'] = Buffer.from(page);

let total = 0;
const rows = [];
for (const [name, bytes] of Object.entries(files)) {
  if (name.endsWith('.map')) continue;
  const gz = gzipSync(bytes, { level: 9 }).length;
  total += gz;
  rows.push(`  ${name.padEnd(34)} ${String(bytes.length).padStart(8)} B  ${String(gz).padStart(7)} B gzipped`);
}
console.log(`web/dist:\n${rows.join('\n')}\n  ${'total'.padEnd(34)} ${''.padStart(10)}  ${String(total).padStart(7)} B gzipped (budget ${BUDGET_GZIP_BYTES} B)`);
if (!dev && total > BUDGET_GZIP_BYTES) {
  console.error(`the bundle is ${total} B gzipped, over the ${BUDGET_GZIP_BYTES} B budget`);
  process.exit(1);
}
