/** The scan worker's entry (started by workers.ts): scan_job.ts does the work. */
import { type ScanToWorker, scanJob } from './scan_job';

const handle = scanJob((m, transfer) => (self as unknown as Worker).postMessage(m, transfer ?? []));
self.onmessage = (ev: MessageEvent<ScanToWorker>) => void handle(ev.data);
