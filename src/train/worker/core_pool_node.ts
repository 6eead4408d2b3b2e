/**
 * The frozen core on several CPU cores in Node: worker threads, each with its own tfjs-wasm instance
 * (tfjs-backend-wasm's own threads do not start in Node), each running the fast core forward on a share of
 * the images. PyTorch's reference uses 2 threads on this 2-core machine; this gives our core the same.
 * Node only (worker_threads); the browser's training worker runs the core in one thread.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { HostCoreRunner } from '../../kernels/core_runner';

interface Pending {
  resolve(out: Float32Array): void;
  reject(e: Error): void;
}

export class NodeCorePool implements HostCoreRunner {
  private readonly busy: number[];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  private constructor(
    private readonly workers: Worker[],
    readonly outputShape: [number, number, number],
    readonly inputShape: [number, number, number],
    readonly description: string,
  ) {
    this.busy = workers.map(() => 0);
    workers.forEach((w) => {
      w.on('message', (m: { type: string; id?: number; out?: Float32Array; message?: string }) => {
        const p = m.id !== undefined ? this.pending.get(m.id) : undefined;
        if (!p) return;
        this.pending.delete(m.id!);
        if (m.type === 'done') p.resolve(m.out!);
        else p.reject(new Error(`core worker: ${m.message}`));
      });
      w.on('error', (e: unknown) => {
        for (const p of this.pending.values()) p.reject(e instanceof Error ? e : new Error(String(e)));
        this.pending.clear();
      });
    });
  }

  /**
   * Starts `threads` workers (default: the machine's cores, at most 4) with the checkpoint's core; `config` is a
   * config JSON value (a parsed ModelConfig is one) or null for the defaults.
   */
  static async create(
    checkpoint: Uint8Array,
    name: string,
    config: unknown | null,
    inputShape: [number, number, number],
    threads = Math.min(4, availableParallelism()),
  ): Promise<NodeCorePool> {
    const url = new URL('./core_pool_worker_boot.mjs', import.meta.url);
    const workers: Worker[] = [];
    try {
      const ready = await Promise.all(
        Array.from({ length: Math.max(1, threads) }, () => {
          // the boot file registers tsx's loader in the thread (vitest's own loader does not reach workers)
          const w = new Worker(url);
          workers.push(w);
          return new Promise<{ outputShape: [number, number, number]; description: string }>((resolve, reject) => {
            w.once(
              'message',
              (m: { type: string; outputShape: [number, number, number]; description: string; message?: string }) => {
                if (m.type === 'ready') resolve(m);
                else reject(new Error(`core worker: ${m.message}`));
              },
            );
            w.once('error', reject);
            w.postMessage({ type: 'init', checkpoint, name, config });
          });
        }),
      );
      return new NodeCorePool(
        workers,
        ready[0].outputShape,
        inputShape,
        `${workers.length} worker threads: ${ready[0].description}`,
      );
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
  }

  get threads(): number {
    return this.workers.length;
  }

  /** Core output (n, H', W', C') for normalized images (n, C, H, W), on the least busy worker. */
  runHost(images: Float32Array, n: number): Promise<Float32Array> {
    let k = 0;
    for (let i = 1; i < this.busy.length; i++) if (this.busy[i] < this.busy[k]) k = i;
    const id = this.nextId++;
    this.busy[k]++;
    return new Promise<Float32Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[k].postMessage({ type: 'run', id, images, n });
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

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
