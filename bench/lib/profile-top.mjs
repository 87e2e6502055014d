// Summarises a V8 .cpuprofile (node --cpu-prof): the functions with the most self time, and
// optionally the most inclusive time, optionally only under one function (by name).
// Usage: node bench/lib/profile-top.mjs FILE [N] [--total] [--under=FUNCTION]
import { readFileSync } from 'node:fs';

const [file, nArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const total = process.argv.includes('--total');
const under = process.argv.find((a) => a.startsWith('--under='))?.slice(8);
const n = Number(nArg ?? 30);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((x) => [x.id, x]));
const self = new Map();
for (const s of prof.samples) self.set(s, (self.get(s) ?? 0) + 1);
const name = (x) => {
  const f = x.callFrame;
  const url = f.url.replace(/^.*\/(src|dist)\//, '$1/');
  return `${f.functionName || '(anon)'} ${url}:${f.lineNumber + 1}`;
};
const parent = new Map();
for (const x of prof.nodes) for (const c of x.children ?? []) parent.set(c, x.id);
const selfBy = new Map();
const totalBy = new Map();
const isUnder = (id) => {
  for (let p = id; p !== undefined; p = parent.get(p))
    if (byId.get(p).callFrame.functionName === under) return true;
  return false;
};
for (const [id, k] of self) {
  if (under && !isUnder(id)) continue;
  const x = byId.get(id);
  const key = name(x);
  selfBy.set(key, (selfBy.get(key) ?? 0) + k);
  // Inclusive: once per distinct function on the stack.
  const seen = new Set();
  for (let p = id; p !== undefined; p = parent.get(p)) {
    const kk = name(byId.get(p));
    if (seen.has(kk)) continue;
    seen.add(kk);
    totalBy.set(kk, (totalBy.get(kk) ?? 0) + k);
  }
}
const all = prof.samples.length;
const show = (m, title) => {
  console.log(`${title} (${all} samples)`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n))
    console.log(`${((v / all) * 100).toFixed(1).padStart(5)}%  ${k}`);
};
show(selfBy, 'self time');
if (total) show(totalBy, '\ninclusive time');
