/**
 * The frozen core on several CPU cores: a pool of workers, each with its own tfjs-wasm instance running the fast
 * core forward (frozen_core.ts) on a share of the images. One implementation for Node (worker_threads,
 * core_pool_node.ts: `v1x finetune`, the benchmark) and the page (Web Workers started by the training worker,
 * core_pool_browser.ts); only the transport differs (WorkerPort). tfjs-backend-wasm's own threads need
 * SharedArrayBuffer (cross-origin isolation in a page, absent in Node), so a pool of single-threaded instances is
 * the portable way to use every core.
 *
 * Messages (core_pool_worker.ts is the other side):
 *   -> { type: 'init', checkpoint: Uint8Array, name, config: unknown | null }  <- { type: 'ready', outputShape, description }
 *   -> { type: 'run', id, images: Float32Array (n, C, H, W), n }               <- { type: 'done', id, out } (n, H', W', C')
 *   -> any other request with an id (request(): the readout's shards, readout_shards.ts) <- its reply with that id
 *   errors <- { type: 'error', id?, message }
 */
import type { HostCoreRunner } from '../../kernels/core_runner';

/** What the pool needs of a worker, whatever starts it (a Node worker thread or a browser Web Worker). */
export interface WorkerPort {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  /** Every message the worker sends (already unwrapped from a browser MessageEvent). */
  onMessage(handler: (message: unknown) => void): void;
  /** The worker failed (an uncaught error, or it could not start). */
  onError(handler: (error: Error) => void): void;
  terminate(): Promise<void>;
}

export interface CorePoolInit {
  checkpoint: Uint8Array;
  name: string;
  /** A config JSON value (a parsed ModelConfig's `config` is one), or null for the defaults. */
  config: unknown | null;
  inputShape: [number, number, number];
}

/** A worker's answer; `request` callers read their own fields from it. */
export interface Reply {
  type: string;
  id?: number;
  out?: Float32Array;
  outputShape?: [number, number, number];
  description?: string;
  message?: string;
  /** A request's own reply fields. */
  [field: string]: unknown;
}

interface Pending {
  resolve(reply: Reply): void;
  reject(e: Error): void;
}

export class CorePool implements HostCoreRunner {
  private readonly busy: number[];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  private constructor(
    private readonly workers: WorkerPort[],
    readonly outputShape: [number, number, number],
    readonly inputShape: [number, number, number],
    readonly description: string,
  ) {
    this.busy = workers.map(() => 0);
  }

  /**
   * Starts `threads` workers with `spawn` (at least 1), sends each the checkpoint and waits until all are ready;
   * `kind` names the workers in the description ("worker threads", "Web Workers"). If one fails, all stop.
   */
  static async start(spawn: () => WorkerPort, threads: number, init: CorePoolInit, kind: string): Promise<CorePool> {
    const workers: WorkerPort[] = [];
    let pool: CorePool | null = null;
    const ready: Promise<Reply>[] = [];
    try {
      for (let i = 0; i < Math.max(1, Math.floor(threads)); i++) {
        const w = spawn();
        workers.push(w);
        ready.push(
          new Promise<Reply>((resolve, reject) => {
            let started = false;
            w.onMessage((raw) => {
              const m = raw as Reply;
              if (!started) {
                started = true;
                if (m.type === 'ready') resolve(m);
                else reject(new Error(`core worker: ${m.message}`));
                return;
              }
              pool?.settle(m);
            });
            w.onError((e) => {
              if (!started) {
                started = true;
                reject(e);
              } else if (pool) {
                pool.closedBy ??= e;
                pool.failAll(e);
              }
            });
          }),
        );
        // a copy per worker, in its own buffer: transferring would detach the caller's bytes (a Node Buffer's
        // slice() is a view of them, and its buffer may be Node's shared pool)
        const checkpoint = new Uint8Array(init.checkpoint);
        w.postMessage({ type: 'init', checkpoint, name: init.name, config: init.config }, [
          checkpoint.buffer as ArrayBuffer,
        ]);
      }
      const replies = await Promise.all(ready);
      pool = new CorePool(
        workers,
        replies[0].outputShape!,
        init.inputShape,
        `${workers.length} ${kind}: ${replies[0].description}`,
      );
      return pool;
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
  }

  get threads(): number {
    return this.workers.length;
  }

  private settle(m: Reply): void {
    const p = m.id !== undefined ? this.pending.get(m.id) : undefined;
    if (!p) return;
    this.pending.delete(m.id!);
    if (m.type === 'error') p.reject(new Error(`core worker: ${m.message}`));
    else p.resolve(m);
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Core output (n, H', W', C') for normalized images (n, C, H, W), on the least busy worker. */
  runHost(images: Float32Array, n: number): Promise<Float32Array> {
    let k = 0;
    for (let i = 1; i < this.busy.length; i++) if (this.busy[i] < this.busy[k]) k = i;
    return this.request(k, { type: 'run', images, n }).then((r) => r.out!);
  }

  /**
   * Sends worker `k` a message (given an id here) and resolves with its reply, or rejects with its error;
   * `transfer` moves buffers instead of copying them.
   */
  request(k: number, message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.closedBy) return Promise.reject(this.closedBy);
    const id = this.nextId++;
    this.busy[k]++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[k].postMessage({ ...message, id }, transfer);
    }).finally(() => {
      this.busy[k]--;
    });
  }

  /** Splits a batch across all workers and joins the parts (for latency: one batch on every core). */
  async runSplit(images: Float32Array, n: number): Promise<Float32Array> {
    const per = images.length / n;
    const parts = Math.min(this.workers.length, n);
    const sizes = Array.from({ length: parts }, (_, i) => Math.floor(n / parts) + (i < n % parts ? 1 : 0));
    let start = 0;
    const outs = await Promise.all(
      sizes.map((s) => {
        const p = this.runHost(images.slice(start * per, (start + s) * per), s);
        start += s;
        return p;
      }),
    );
    const total = outs.reduce((a, o) => a + o.length, 0);
    const out = new Float32Array(total);
    let o = 0;
    for (const part of outs) {
      out.set(part, o);
      o += part.length;
    }
    return out;
  }

  /** Why requests are refused: the pool was closed, or a worker failed (a pool short of a worker is unusable). */
  private closedBy: Error | null = null;

  async close(): Promise<void> {
    this.closedBy ??= new Error('the core pool was closed');
    this.failAll(this.closedBy);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
