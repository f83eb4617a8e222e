// The one part of workerd's built-in `cloudflare:workers` module the test worker uses: the
// bindings, readable in global scope.
declare module 'cloudflare:workers' {
  export const env: Record<string, string | undefined>;
}
