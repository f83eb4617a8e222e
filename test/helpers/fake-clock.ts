import type { Clock } from '../../lib/index.ts';

/**
 * A clock the test moves. `sleep` (pacing, queueing) either waits for `advance` or, with
 * `autoAdvance`, moves time forward itself at once — so a paced transfer takes exactly the
 * simulated time the pacer asked for.
 */
export interface FakeClock extends Clock {
  advance(ms: number): void;
  /** Sum of every sleep asked for (autoAdvance). */
  slept: number;
}

export function fakeClock(options: { autoAdvance?: boolean } = {}): FakeClock {
  let now = 1_000_000;
  const sleepers: Array<{ at: number; wake: () => void }> = [];
  const clock: FakeClock = {
    slept: 0,
    now: () => now,
    sleep(ms, signal) {
      if (options.autoAdvance) {
        clock.slept += ms;
        now += ms;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const sleeper = { at: now + ms, wake: resolve };
        sleepers.push(sleeper);
        signal?.addEventListener('abort', () => {
          sleepers.splice(sleepers.indexOf(sleeper), 1);
          resolve();
        });
      });
    },
    advance(ms) {
      now += ms;
      for (const sleeper of [...sleepers]) {
        if (sleeper.at <= now) {
          sleepers.splice(sleepers.indexOf(sleeper), 1);
          sleeper.wake();
        }
      }
    },
  };
  return clock;
}
