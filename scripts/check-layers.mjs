// Enforces DESIGN.md's one-way imports: a layer may import only layers below it (and lib/).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
// Top of the stack first. A file may import its own layer or any layer after it.
const order = ['cli', 'web', 'vswitchd', 'ofproto', 'dpif', 'netdev', 'native', 'ovsdb', 'lib'];
const layerOf = (file) => relative(src, file).split('/')[0];
let bad = 0;
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.ts')) check(p);
  }
}
function check(file) {
  const from = layerOf(file);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)) {
    const target = resolve(dirname(file), m[1]);
    if (!target.startsWith(src)) continue;
    const to = layerOf(target);
    if (order.indexOf(to) < order.indexOf(from)) {
      console.error(`${relative(root, file)}: ${from}/ must not import ${to}/ (${m[1]})`);
      bad++;
    }
  }
}
walk(src);
if (bad) process.exit(1);
console.log('layers ok');
