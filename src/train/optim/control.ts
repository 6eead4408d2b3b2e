/**
 * Pause / resume / stop for a running training loop. The loop calls `checkpoint()` between batches: it
 * yields to the event loop now and then (so a worker's message handler or the page can run), waits while
 * paused, and reports a stop. Pausing never changes what is computed, so a paused run ends exactly where an
 * uninterrupted run with the same seed does.
 */

export type ControlState = 'running' | 'paused' | 'stopping';

export class TrainingControl {
  private _state: ControlState = 'running';
  private waiters: Array<() => void> = [];
  private lastYield = performance.now();

  constructor(
    /** Yield to the event loop at least this often while running (ms). */
    readonly yieldEveryMs = 50,
  ) {}

  get state(): ControlState {
    return this._state;
  }

  get stopRequested(): boolean {
    return this._state === 'stopping';
  }

  pause(): void {
    if (this._state === 'running') this._state = 'paused';
  }

  resume(): void {
    if (this._state === 'paused') {
      this._state = 'running';
      this.wake();
    }
  }

  /** Ends training after the current batch (the best state so far is kept). */
  stop(): void {
    this._state = 'stopping';
    this.wake();
  }

  /**
   * Called by the loop between batches. Resolves to false when the loop should stop. Cheap when nothing is
   * due: it only yields once `yieldEveryMs` has passed.
   */
  async checkpoint(): Promise<boolean> {
    if (this._state === 'running' && performance.now() - this.lastYield < this.yieldEveryMs) return true;
    await yieldToEventLoop();
    this.lastYield = performance.now();
    while (this._state === 'paused') {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this._state !== 'stopping';
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Lets queued events (worker messages, timers, UI) run: setImmediate in Node, a MessageChannel elsewhere. */
export function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown };
  if (typeof g.setImmediate === 'function') return new Promise((resolve) => g.setImmediate!(resolve));
  if (typeof MessageChannel !== 'undefined') {
    return new Promise((resolve) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => {
        ch.port1.close();
        resolve();
      };
      ch.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}
