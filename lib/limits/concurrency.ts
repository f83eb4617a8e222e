import type { Clock } from '../options/types.ts';

/**
 * A cap on requests in flight to one upstream: a request over the cap waits its turn (first
 * come, first served) for up to `queueTimeout` ms, then gives up. A slot is held until the
 * upstream's response headers arrive: that is what an upstream's own rate limits and
 * connection limits see, and bodies then stream without the proxy wrapping them.
 */
export class ConcurrencyLimit {
  readonly limit: number;
  readonly queueTimeout: number;
  #active = 0;
  readonly #waiting: Array<() => void> = [];
  readonly #clock: Clock;

  constructor(limit: number, queueTimeout: number, clock: Clock) {
    this.limit = limit;
    this.queueTimeout = queueTimeout;
    this.#clock = clock;
  }

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#waiting.length;
  }

  /** A release function when a slot is free right now (no promise on the common path), else undefined. */
  tryAcquire(): (() => void) | undefined {
    if (this.#active >= this.limit || this.#waiting.length > 0) return undefined;
    this.#active++;
    return this.#releaser();
  }

  /** Resolves to a release function, or to `undefined` when no slot came free in time. */
  async acquire(): Promise<(() => void) | undefined> {
    const now = this.tryAcquire();
    if (now) return now;
    if (this.queueTimeout === 0) return undefined;
    const timeout = new AbortController();
    let granted!: () => void;
    const turn = new Promise<boolean>((resolve) => (granted = () => resolve(true)));
    this.#waiting.push(granted);
    const won = await Promise.race([turn, this.#clock.sleep(this.queueTimeout, timeout.signal).then(() => false)]);
    if (won) {
      timeout.abort();
      return this.#releaser(); // the slot was handed over by release(): #active already counts it
    }
    const index = this.#waiting.indexOf(granted);
    // Handed a slot between the timeout and now: it is ours, so use it rather than leak it.
    if (index === -1) return this.#releaser();
    this.#waiting.splice(index, 1);
    return undefined;
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    };
  }
}
