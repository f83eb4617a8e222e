#!/usr/bin/env node
// Summarise a V8 .cpuprofile (node --cpu-prof): top functions by self time, and self time
// grouped by package / file ("where the time goes").
//   node bench/cpuprofile-top.mjs FILE.cpuprofile [N=25]
import fs from 'node:fs';

const [file, nArg] = process.argv.slice(2);
const N = Number(nArg || 25);
const p = JSON.parse(fs.readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = p.timeDeltas;
for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) || 0) + (dt[i] || 0));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const fn = new Map();
const group = new Map();
const short = (url) => url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, 'node_modules/').replace(/^\/work\/main\//, '');
const groupOf = (url) => {
  if (!url) return '(native / GC / idle)';
  if (url.startsWith('node:')) return url.split('/')[0].replace(/:internal$/, '') + (url.includes('internal/deps/undici') ? ' undici' : url.includes('internal/webstreams') ? ' webstreams' : url.includes('_http') || url.includes('/http') ? ' http' : url.includes('tls') ? ' tls' : url.includes('stream') ? ' streams' : '');
  const m = url.match(/node_modules\/((@[^/]+\/)?[^/]+)/);
  if (m) return m[1];
  return short(url);
};
for (const [id, t] of self) {
  const n = byId.get(id);
  const cf = n.callFrame;
  const key = `${cf.functionName || '(anonymous)'}  ${short(cf.url)}:${cf.lineNumber + 1}`;
  fn.set(key, (fn.get(key) || 0) + t);
  const g = groupOf(cf.url) + (cf.url ? '' : ` ${cf.functionName}`);
  group.set(g, (group.get(g) || 0) + t);
}
const pct = (t) => ((100 * t) / total).toFixed(1).padStart(5) + '%';
console.log(`total sampled ${(total / 1e6).toFixed(2)} s`);
console.log('\ntop self time by function:');
for (const [k, t] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, N)) console.log(`${pct(t)}  ${k}`);
console.log('\nself time by package / file:');
for (const [k, t] of [...group].sort((a, b) => b[1] - a[1]).slice(0, N)) console.log(`${pct(t)}  ${k}`);

// inclusive ("total") time: every function on a sampled stack gets the sample once
const parent = new Map();
for (const n of p.nodes) for (const c of n.children || []) parent.set(c, n.id);
const incl = new Map();
for (const [id, t] of self) {
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const cf = byId.get(cur).callFrame;
    if (!cf.url) continue;
    const key = `${cf.functionName || '(anonymous)'}  ${short(cf.url)}:${cf.lineNumber + 1}`;
    if (seen.has(key)) continue;
    seen.add(key);
    incl.set(key, (incl.get(key) || 0) + t);
  }
}
console.log('\ntop inclusive time (project + packages, excluding node: internals):');
for (const [k, t] of [...incl].filter(([k]) => !k.includes(' node:')).sort((a, b) => b[1] - a[1]).slice(0, N)) console.log(`${pct(t)}  ${k}`);
