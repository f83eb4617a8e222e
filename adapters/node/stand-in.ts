/**
 * Makes the lightweight class `Light` stand in for the web class `Web` (`Request`, `Response`):
 * every member of `Web.prototype` that `Light` does not define answers from the full object its
 * `full()` makes (once, on first use), and the prototype chain keeps `instanceof Web` true.
 * Building the full undici object costs more than the rest of a manifest GET on Node; most
 * requests never need it.
 */
export function standIn(Light: { prototype: object }, Web: { prototype: object }): void {
  type Full = Record<string, unknown>;
  const own = Light.prototype as { full(): Full };
  for (const name of Object.getOwnPropertyNames(Web.prototype)) {
    if (name === 'constructor' || Object.prototype.hasOwnProperty.call(own, name)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(Web.prototype, name)!;
    if (descriptor.get) {
      Object.defineProperty(own, name, {
        get(this: typeof own) {
          return this.full()[name];
        },
      });
    } else if (typeof descriptor.value === 'function') {
      Object.defineProperty(own, name, {
        value(this: typeof own, ...args: unknown[]) {
          const full = this.full() as Record<string, (...args: unknown[]) => unknown>;
          return full[name]!(...args);
        },
      });
    }
  }
  Object.setPrototypeOf(own, Web.prototype);
}
