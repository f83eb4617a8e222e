#!/usr/bin/env node
// Turns bench/run.sh's measurements ($RESULTS/NAME.kv, targets.tsv, meta.json) into ONE markdown
// table with ratios to the upstream direct (×d) and to nginx (×n), plus the issue's targets.
// Exit 1 on a correctness failure (never on speed).
import fs from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
const targets = fs.readFileSync(path.join(dir, 'targets.tsv'), 'utf8').trim().split('\n').filter(Boolean)
  .map((l) => { const [name, status, desc] = l.split('\t'); return { name, status, desc }; });
const REFS = new Set(['direct', 'nginx', 'node-floor']);

const data = {};
for (const t of targets) {
  const f = path.join(dir, `${t.name}.kv`);
  const kv = {};
  if (fs.existsSync(f)) {
    for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) (kv[line.slice(0, i)] ??= []).push(line.slice(i + 1));
    }
  }
  data[t.name] = kv;
}
const num = (x) => (x !== undefined && x !== '' && /^-?[0-9.]+(e[-+]?\d+)?$/i.test(x) ? Number(x) : undefined);
function val(name, key) { // median of numeric values
  const vs = (data[name]?.[key] ?? []).map(num).filter((v) => v !== undefined).sort((a, b) => a - b);
  if (!vs.length) return undefined;
  const m = vs.length >> 1;
  return vs.length % 2 ? vs[m] : (vs[m - 1] + vs[m]) / 2;
}
const last = (name, key) => data[name]?.[key]?.at(-1);
const fmt = (v) => (v === undefined ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toPrecision(3));
const ratio = (v, b) => (v === undefined || b === undefined || b === 0 ? '–' : (v / b).toFixed(2));
const active = targets.filter((t) => t.status === 'ok').map((t) => t.name);
const has = (n) => active.includes(n);
function cell(name, key) {
  const v = val(name, key);
  if (v === undefined) return '–';
  const capKey = key.replace(/^(blob|conc)_MBps_/, '$1_capped_');
  const cap = capKey !== key && data[name]?.[capKey] ? 'ᶜ' : '';
  const parts = [];
  if (name !== 'direct' && has('direct')) parts.push(`${ratio(v, val('direct', key))}×d`);
  if (name !== 'direct' && name !== 'nginx' && has('nginx')) parts.push(`${ratio(v, val('nginx', key))}×n`);
  return parts.length ? `${fmt(v)}${cap} (${parts.join(' ')})` : `${fmt(v)}${cap}`;
}
const pair = (name, k) => (val(name, `${k}_p50_ms`) === undefined ? '–' : `${fmt(val(name, `${k}_p50_ms`))} / ${fmt(val(name, `${k}_p99_ms`))}`);

const blob = meta.blob_image;
const concImgs = meta.conc_images.split(' ').filter(Boolean);
const sizeOf = (img) => img.replace(/^l/, '').toUpperCase().replace(/([KMGT])$/, ' $1iB');

// ---- correctness ----
const problems = {};
const warnings = {};
for (const t of targets) {
  const p = [];
  if (t.status.startsWith('FAILED')) p.push(t.status);
  if (t.status.startsWith('skipped') && meta.require_all && !REFS.has(t.name)) p.push(`${t.status} with --require-all`);
  if (t.status === 'ok') {
    const ok = val(t.name, 'check_ok');
    const total = val(t.name, 'check_total');
    if (ok === undefined || ok !== total) p.push(`checks ${ok ?? 0}/${total ?? '?'}: ${last(t.name, 'check_fail') ?? 'did not run'}`);
    for (const img of concImgs) {
      const c = last(t.name, `conc_ok_${img}`);
      if (c === undefined || c.split('/')[0] !== c.split('/')[1]) p.push(`${meta.conc}× ${img}: ${c ?? 'did not run'} complete`);
    }
    for (const [k, vs] of Object.entries(data[t.name])) if (k.startsWith('blob_err_')) p.push(`blob ${k.slice(9)}: ${vs.join(',')}`);
    if (last(t.name, 'get_non2xx')) p.push(`wrk GET: ${last(t.name, 'get_non2xx')} non-2xx`);
    const se = last(t.name, 'get_sockerr');
    if (se && /(connect|read|write)[1-9]/.test(se)) p.push(`wrk GET socket errors ${se}`);
    if (last(t.name, 'head_errors')) (warnings[t.name] ??= []).push(`ab HEAD (HTTP/1.0 keep-alive) ${last(t.name, 'head_errors')}`);
    if (last(t.name, 'coldstart_ms') === 'FAIL') p.push('cold start: no 200 on /v2/');
  }
  if (p.length) problems[t.name] = p;
}

// ---- the table ----
const out = [];
const mode = meta.smoke ? 'SMOKE (reduced sizes; asserts correctness, not speed)' : 'full';
out.push(`### registry-proxy bench — ${mode}, ${meta.date}`);
out.push('');
out.push(`Ratios: ×d = to the upstream direct, ×n = to nginx proxy_pass (higher is better for MB/s and req/s; lower for ms, µs, s, MiB).`);
out.push('');
const head = ['target', `blob MB/s 1× (${sizeOf(blob)})`, `blob MB/s ${meta.conc}× (${sizeOf(blob)})`, 'GET req/s', 'GET p50 / p99 ms',
  'HEAD req/s', 'HEAD p50 / p99 ms', 'CPU µs / GET', `CPU s / GiB (${meta.conc}×)`, 'RSS idle MiB',
  ...concImgs.map((i) => `peak RSS MiB ${meta.conc}×${sizeOf(i)}`), 'cold start ms', 'checks'];
out.push(`| ${head.join(' | ')} |`);
out.push(`|${head.map(() => '---').join('|')}|`);
for (const t of targets) {
  if (t.status !== 'ok') {
    out.push(`| ${t.name} | ${t.status} |${' |'.repeat(head.length - 2)}`);
    continue;
  }
  const n = t.name;
  const checks = `${val(n, 'check_ok') ?? '–'}/${val(n, 'check_total') ?? '–'}${problems[n] ? ' ✗' : ' ✓'}`;
  out.push(`| ${[n, cell(n, `blob_MBps_${blob}`), cell(n, `conc_MBps_${blob}`), cell(n, 'get_rps'), pair(n, 'get'),
    cell(n, 'head_rps'), pair(n, 'head'), cell(n, 'get_cpu_us_per_req'), cell(n, `conc_cpu_s_per_GiB_${blob}`),
    cell(n, 'rss_idle_MiB'), ...concImgs.map((i) => cell(n, `rss_peak_MiB_${i}`)), cell(n, 'coldstart_ms'), checks].join(' | ')} |`);
}
out.push('');
out.push('Targets:');
for (const t of targets) out.push(`- **${t.name}**: ${t.desc}`);
out.push('');
out.push(`Blob = one layer of bench/${blob}:v1 through curl to /dev/null (1×: median of ${meta.rounds}; ${meta.conc}×: aggregate of ${meta.conc} parallel pulls). ` +
  `Manifest = bench/${meta.manifest_image}:v1 with an OCI Accept header, ${meta.wrk_dur} at -c${meta.wrk_conn} (GET: wrk -t${meta.wrk_threads}; HEAD: ab -k). ` +
  `CPU = utime+stime of the serving process tree per request / per GiB (direct: the upstream nginx itself). ` +
  `RSS = sum over the process tree (nginx: master + workers); peak = VmHWM after clear_refs, or 0.2 s samples. ` +
  `ᶜ = some transfers were still streaming at the ${meta.max_time} s cap per transfer: MB/s and CPU/GiB count the bytes moved so far, and peak RSS is over that window. ` +
  `Cold start = spawn -> first 200 on /v2/ (median of ${meta.cold_runs}). ` +
  `Proxies reach the upstream over TLS (${meta.upstream}, h2 + http/1.1 ALPN); clients send an Authorization header. ` +
  `${meta.cpus} CPUs (${meta.cpu_model}), Linux ${meta.kernel}, load average at start ${meta.load_at_start}; client, proxy and upstream share them, so compare ratios within one run. Run took ${meta.elapsed_s} s.`);

// ---- the issue's targets (registry-proxy rows only) ----
const rp = active.filter((n) => !REFS.has(n));
if (rp.length && has('direct')) {
  const d = (n, k) => { const v = val(n, k); const b = val('direct', k); return v !== undefined && b ? v / b : undefined; };
  const mark = (ok) => (ok === undefined ? '?' : ok ? 'pass' : 'MISS');
  const lines = [];
  const r1 = rp.map((n) => [n, d(n, `blob_MBps_${blob}`), d(n, `conc_MBps_${blob}`)]);
  const minOf = (i) => Math.min(...r1.map((r) => r[i] ?? 0));
  const maxOf = (i) => Math.max(...r1.map((r) => r[i] ?? 0));
  lines.push(`blob ≥0.36×d on every runtime: 1× min ${minOf(1).toFixed(2)} ${mark(minOf(1) >= 0.36)}; ${meta.conc}× min ${minOf(2).toFixed(2)} ${mark(minOf(2) >= 0.36)}`);
  lines.push(`blob ≥0.48×d on the fastest: 1× max ${maxOf(1).toFixed(2)} ${mark(maxOf(1) >= 0.48)}; ${meta.conc}× max ${maxOf(2).toFixed(2)} ${mark(maxOf(2) >= 0.48)}`);
  const g = rp.map((n) => d(n, 'get_rps') ?? 0);
  lines.push(`manifest GET ≥0.13×d fastest: ${Math.max(...g).toFixed(2)} ${mark(Math.max(...g) >= 0.13)}`);
  if (has('node')) lines.push(`manifest GET ≥0.10×d on Node: ${(d('node', 'get_rps') ?? 0).toFixed(2)} ${mark((d('node', 'get_rps') ?? 0) >= 0.1)}`);
  for (const n of rp) {
    const p99 = val(n, 'get_p99_ms');
    const cpu = val(n, 'get_cpu_us_per_req');
    const gib = val(n, `conc_cpu_s_per_GiB_${blob}`);
    const gib1 = val(n, `blob_cpu_s_per_GiB_${blob}`);
    const idle = val(n, 'rss_idle_MiB');
    const peaks = concImgs.map((i) => val(n, `rss_peak_MiB_${i}`));
    const peakBig = peaks.at(-1);
    const bits = [
      `GET p99 ${fmt(p99)} ms ${mark(p99 === undefined ? undefined : p99 < 15)}`,
      `CPU ${fmt(cpu)} µs/GET ${mark(cpu === undefined ? undefined : cpu <= 120)}`,
      `CPU ${fmt(gib)} s/GiB ${meta.conc}× (${fmt(gib1)} 1×) ${mark(gib === undefined ? undefined : gib <= 1.3)}`,
      `peak−idle ${fmt(peakBig !== undefined && idle !== undefined ? peakBig - idle : undefined)} MiB ${mark(peakBig === undefined ? undefined : peakBig - idle <= 32)}`,
    ];
    if (peaks.length >= 2) {
      const diff = peaks.at(-1) - peaks[0];
      bits.push(`peak ${sizeOf(concImgs[0])}→${sizeOf(concImgs.at(-1))} ${diff >= 0 ? '+' : ''}${fmt(Math.abs(diff)) === '–' ? '–' : diff.toFixed(1)} MiB ${mark(Number.isNaN(diff) ? undefined : Math.abs(diff) <= 8)}`);
    }
    if (n.startsWith('node')) { const c = val(n, 'coldstart_ms'); bits.push(`cold start ${fmt(c)} ms ${mark(c === undefined ? undefined : c <= 150)}`); }
    lines.push(`${n}: ${bits.join('; ')}`);
  }
  out.push('');
  out.push(meta.smoke ? 'Issue targets (informational in smoke mode; sizes are reduced):' : 'Issue targets (registry-proxy rows):');
  for (const l of lines) out.push(`- ${l}`);
}
if (Object.keys(warnings).length) {
  out.push('');
  out.push('Warnings (not failures):');
  for (const [n, ws] of Object.entries(warnings)) out.push(`- ${n}: ${ws.join('; ')}`);
}
if (Object.keys(problems).length) {
  out.push('');
  out.push('**Correctness failures:**');
  for (const [n, ps] of Object.entries(problems)) out.push(`- ${n}: ${ps.join('; ')}`);
}
console.log(out.join('\n'));
process.exit(Object.keys(problems).length ? 1 : 0);
