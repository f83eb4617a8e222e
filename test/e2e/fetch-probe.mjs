// Run by fetch-guarantees.test.ts under Deno and Bun: fetches each path from the fake upstream
// with the runtime's own fetch and reports how the body ended, as one JSON line.
//   deno run -A fetch-probe.mjs ORIGIN PATH...   |   bun fetch-probe.mjs ORIGIN PATH...
// A path may end in `#timeout=MS` (Bun's per-request socket idle timeout). A body still open
// after WATCH_MS (5000; 15000 with a timeout, which Bun checks every few seconds) is "waiting".
/* global Deno */
const args = globalThis.Deno ? Deno.args : process.argv.slice(2);
const [origin, ...paths] = args;
const outcomes = {};
for (const spec of paths) {
  const [path, option] = spec.split('#');
  const timeout = option ? Number(option.split('=')[1]) : undefined;
  const watchMs = timeout ? 15_000 : 5_000;
  let received = 0;
  try {
    const response = await fetch(origin + path, timeout ? { timeout } : {});
    const reader = response.body.getReader();
    const deadline = Date.now() + watchMs;
    for (;;) {
      const left = deadline - Date.now();
      const result = await Promise.race([reader.read(), new Promise((resolve) => setTimeout(resolve, Math.max(left, 0), 'waiting'))]);
      if (result === 'waiting') {
        outcomes[spec] = `waiting after ${received} bytes`;
        reader.cancel().catch(() => {});
        break;
      }
      if (result.done) {
        outcomes[spec] = `ended after ${received} bytes`;
        break;
      }
      received += result.value.byteLength;
    }
  } catch {
    outcomes[spec] = `error after ${received} bytes`;
  }
}
console.log(JSON.stringify(outcomes));
if (globalThis.Deno) Deno.exit(0);
else process.exit(0);
