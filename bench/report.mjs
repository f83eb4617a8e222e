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
const REFS = new Set(['direct', 'nginx']);
function readKv(file) {
  const kv = {};
  if (!fs.existsSync(file)) return kv;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv[line.slice(0, i)] = line.slice(i + 1);
  }
  return kv;
}

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
const ratio = (v, b) => (v === undefined || b === undefined || b === 0 ? undefined : v / b);
const active = targets.filter((t) => t.status === 'ok').map((t) => t.name);
const has = (n) => active.includes(n);
const isFloor = (n) => n.endsWith('-floor');
const isRef = (n) => REFS.has(n) || isFloor(n);
/** What a row is compared with: a runtime with its own floor, a floor with nginx, nginx with direct. */
function baseOf(name) {
  if (!isRef(name) && has(`${name}-floor`)) return [`${name}-floor`, 'f'];
  if (isFloor(name) && has('nginx')) return ['nginx', 'n'];
  if (name === 'nginx' && has('direct')) return ['direct', 'd'];
  return [undefined, ''];
}
function cell(name, key) {
  const v = val(name, key);
  if (v === undefined) return '–';
  const capKey = key.replace(/^(blob|conc)_MBps_/, '$1_capped_');
  const cap = capKey !== key && data[name]?.[capKey] ? 'ᶜ' : '';
  const [base, tag] = baseOf(name);
  const r = base === undefined ? undefined : ratio(v, val(base, key));
  return r === undefined ? `${fmt(v)}${cap}` : `${fmt(v)}${cap} (${r.toFixed(2)}×${tag})`;
}
const pair = (name, k) => (val(name, `${k}_p50_ms`) === undefined ? '–' : `${fmt(val(name, `${k}_p50_ms`))} / ${fmt(val(name, `${k}_p99_ms`))}`);

const blob = meta.blob_image;
const concImgs = meta.conc_images.split(' ').filter(Boolean);
const sizeOf = (img) => img.replace(/^l/, '').toUpperCase().replace(/([KMGT])$/, ' $1iB');
const measuredHead = active.some((n) => val(n, 'head_rps') !== undefined);

// ---- correctness ----
const problems = {};
const warnings = {};
for (const t of targets) {
  const p = [];
  if (t.status.startsWith('FAILED')) p.push(t.status);
  if (t.status.startsWith('skipped') && meta.require_all && !isRef(t.name)) p.push(`${t.status} with --require-all`);
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
out.push('Ratios in brackets, measured in this run: registry-proxy rows ×f = to the floor of the same runtime (the row above it), ' +
  'floor rows ×n = to nginx proxy_pass, nginx ×d = to the upstream direct. Higher is better for MB/s and req/s; lower for ms, µs, s, MiB.');
out.push('');
const head = ['target', `blob MB/s 1× (${sizeOf(blob)})`, `blob MB/s ${meta.conc}× (${sizeOf(blob)})`, 'GET req/s', 'GET p50 / p99 ms',
  ...(measuredHead ? ['HEAD req/s', 'HEAD p50 / p99 ms'] : []), 'CPU µs / GET', `CPU s / GiB (1× / ${meta.conc}×)`,
  `RSS MiB idle → peak ${concImgs.map((i) => `${meta.conc}×${sizeOf(i)}`).join(' / ')}`, 'cold start ms', 'checks'];
out.push(`| ${head.join(' | ')} |`);
out.push(`|${head.map(() => '---').join('|')}|`);
for (const t of targets) {
  if (t.status !== 'ok') {
    out.push(`| ${t.name} | ${t.status} |${' |'.repeat(head.length - 2)}`);
    continue;
  }
  const n = t.name;
  const checks = `${val(n, 'check_ok') ?? '–'}/${val(n, 'check_total') ?? '–'}${problems[n] ? ' ✗' : ' ✓'}`;
  const rss = `${fmt(val(n, 'rss_idle_MiB'))} → ${concImgs.map((i) => fmt(val(n, `rss_peak_MiB_${i}`))).join(' / ')}`;
  out.push(`| ${[n, cell(n, `blob_MBps_${blob}`), cell(n, `conc_MBps_${blob}`), cell(n, 'get_rps'), pair(n, 'get'),
    ...(measuredHead ? [cell(n, 'head_rps'), pair(n, 'head')] : []), cell(n, 'get_cpu_us_per_req'),
    `${fmt(val(n, `blob_cpu_s_per_GiB_${blob}`))} / ${fmt(val(n, `conc_cpu_s_per_GiB_${blob}`))}`,
    rss, cell(n, 'coldstart_ms'), checks].join(' | ')} |`);
}
out.push('');
out.push('Rows:');
for (const t of targets) out.push(`- **${t.name}**: ${t.desc}`);
out.push('');
out.push(`How: every figure is what a client on the same machine sees over loopback HTTP/1.1: curl downloads the blob to /dev/null ` +
  `(bytes and status checked; 1×: median of ${meta.rounds}; ${meta.conc}×: aggregate of ${meta.conc} parallel pulls) of one layer of bench/${blob}:v1. ` +
  `Manifest = bench/${meta.manifest_image}:v1 with an OCI Accept header, wrk -t${meta.wrk_threads} -c${meta.wrk_conn} for ${meta.wrk_dur}` +
  `${measuredHead ? ' (HEAD: ab -k)' : ''}; latency is wrk's, i.e. the client's. ` +
  `CPU = utime+stime of the serving process tree per request / per GiB (direct: the upstream nginx itself). ` +
  `RSS = sum over the process tree; idle = right after start; peak = VmHWM after clear_refs, or 0.2 s samples, during the ${meta.conc}× pulls. ` +
  `ᶜ = some transfers were still streaming at the ${meta.max_time} s cap per transfer: MB/s and CPU/GiB count the bytes moved so far. ` +
  `Cold start = spawn -> first 200 on /v2/ (median of ${meta.cold_runs}). ` +
  `Proxies and floors reach the upstream (static nginx) over TLS (${meta.upstream}, h2 + http/1.1 ALPN); clients send an Authorization header. ` +
  `${meta.cpus} CPUs (${meta.cpu_model}), Linux ${meta.kernel}, load average at start ${meta.load_at_start}; client, proxies and upstream share them, ` +
  `so compare ratios within one run, not absolute figures across runs. Run took ${meta.elapsed_s} s.`);
const bundle = readKv(path.join(dir, 'bundle.kv'));
if (bundle.bundle_bytes) {
  out.push('');
  out.push(`Bundle: ${bundle.bundle_entry} bundled and minified (esbuild, platform neutral): ${(bundle.bundle_bytes / 1024).toFixed(1)} KiB, ` +
    `${(bundle.bundle_gzip_bytes / 1024).toFixed(1)} KiB gzipped.`);
}

// ---- issue 10's targets: goals to track, never errors (the exit status is correctness only) ----
const goals = [];
const goal = (who, what, got, limit, better) => {
  if (got === undefined || limit === undefined) return goals.push(`- ${who} · ${what}: not measured`);
  const met = better === 'higher' ? got >= limit : got <= limit;
  goals.push(`- ${who} · ${what} — ${met ? 'met' : 'missed'}`);
};
for (const n of active.filter((x) => !isRef(x))) {
  const f = `${n}-floor`;
  const fr = (k) => (has(f) ? ratio(val(n, k), val(f, k)) : undefined);
  const show = (r) => (r === undefined ? '–' : `${r.toFixed(2)}×`);
  const g = (what, r, limit, better) => {
    if (r === undefined) return goals.push(`- ${n} · ${what}: not measured`);
    const met = better === 'higher' ? r >= limit : r <= limit;
    goals.push(`- ${n} · ${what}: ${show(r)} — ${met ? 'met' : 'missed'}`);
  };
  g('manifest GET CPU/request ≤ 1.3× floor', fr('get_cpu_us_per_req'), 1.3, 'lower');
  g('manifest GET req/s ≥ 0.8× floor', fr('get_rps'), 0.8, 'higher');
  g('manifest GET p99 ≤ 2× floor p99', fr('get_p99_ms'), 2, 'lower');
  g(`blob 1 stream ≥ 0.95× floor`, fr(`blob_MBps_${blob}`), 0.95, 'higher');
  g(`blob ${meta.conc}× aggregate ≥ 1× floor`, fr(`conc_MBps_${blob}`), 1, 'higher');
  if (n.startsWith('deno')) {
    const node = ['node', 'node24'].find(has);
    g(`blob 1 stream ≥ 0.9× ${node ?? 'node'} (same run)`, node ? ratio(val(n, `blob_MBps_${blob}`), val(node, `blob_MBps_${blob}`)) : undefined, 0.9, 'higher');
  }
  if (n.startsWith('bun')) {
    const nx = (k) => (has('nginx') ? ratio(val(n, k), val('nginx', k)) : undefined);
    g('blob 1 stream ≥ 0.9× nginx', nx(`blob_MBps_${blob}`), 0.9, 'higher');
    g(`blob ${meta.conc}× aggregate ≥ 0.9× nginx`, nx(`conc_MBps_${blob}`), 0.9, 'higher');
  }
  const idle = val(n, 'rss_idle_MiB');
  const peak = val(n, `rss_peak_MiB_${concImgs.at(-1)}`);
  const grow = peak !== undefined && idle !== undefined ? peak - idle : undefined;
  goals.push(`- ${n} · peak RSS under ${meta.conc}×${sizeOf(concImgs.at(-1))} ≤ idle + 32 MiB: +${fmt(grow)} MiB — ${grow === undefined ? 'not measured' : grow <= 32 ? 'met' : 'missed'}`);
  if (n.startsWith('node')) goal(n, `idle RSS ≤ 80 MiB: ${fmt(idle)} MiB`, idle, 80, 'lower');
  const cold = val(n, 'coldstart_ms');
  const coldMax = n.startsWith('node') ? 150 : 80;
  goal(n, `cold start ≤ ${coldMax} ms: ${fmt(cold)} ms`, cold, coldMax, 'lower');
}
if (goals.length && !meta.smoke) {
  out.push('');
  out.push(`Targets of issue 10 (goals to track, not errors: the exit status reflects correctness only):`);
  out.push(...goals);
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
