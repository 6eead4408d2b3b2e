/** public/demo/transfer_results.json, bundled at build time (absent: no shipped results). */
import { parseTransferResults, type ShippedTransfer } from '../../../state/derived/transfer_results';

const found = import.meta.glob<unknown>('/public/demo/transfer_results.json', { eager: true, import: 'default' });

export const SHIPPED_TRANSFER: ShippedTransfer | null = parseTransferResults(Object.values(found)[0] ?? null);
