/**
 * Writes a state_dict as a PyTorch checkpoint, the way torch.save does:
 * - zip (default): `<prefix>/data.pkl` (pickle protocol 2 of an OrderedDict of tensors rebuilt by
 *   torch._utils._rebuild_tensor_v2, storages as persistent ids ('storage', torch.FloatStorage, key, 'cpu',
 *   numel)), `<prefix>/byteorder`, `<prefix>/version`, `<prefix>/.format_version`, `<prefix>/.storage_alignment`,
 *   and `<prefix>/data/<key>`: uncompressed, 64-byte aligned. `torch.load(path, weights_only=True)` reads it.
 * - legacy (`_use_new_zipfile_serialization=False`): magic, protocol version, sys info, the object, the key
 *   list, then each storage as int64 element count + bytes.
 * Every tensor gets its own contiguous storage (offset 0, C-order strides).
 */
import { type HostTensor, type NumericDType, numel, type StateDict } from './host_tensor';
import { PickleWriter } from './pickle_writer';
import { writeStoredZip } from './zip_store_writer';

const STORAGE_CLASS: Partial<Record<NumericDType, string>> = {
  float32: 'FloatStorage',
  float64: 'DoubleStorage',
  float16: 'HalfStorage',
  int64: 'LongStorage',
  int32: 'IntStorage',
  int16: 'ShortStorage',
  int8: 'CharStorage',
  uint8: 'ByteStorage',
  bool: 'BoolStorage',
};

export interface SaveOptions {
  format?: 'zip' | 'legacy';
  /** Top-level folder of the zip (torch uses the file stem); default 'archive'. */
  prefix?: string;
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

function checkTensor(key: string, t: HostTensor): string {
  const cls = STORAGE_CLASS[t.dtype];
  if (!cls) throw new Error(`saveCheckpoint: tensor '${key}' has dtype ${t.dtype}, which torch storages cannot hold`);
  if (t.shape.some((d) => !Number.isInteger(d) || d < 0))
    throw new Error(`saveCheckpoint: tensor '${key}' has a bad shape (${t.shape.join(', ')})`);
  if (numel(t.shape) !== t.data.length) {
    throw new Error(`saveCheckpoint: tensor '${key}' has shape (${t.shape.join(', ')}) but ${t.data.length} values`);
  }
  return cls;
}

function contiguousStride(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  for (let i = shape.length - 1, acc = 1; i >= 0; i--) {
    s[i] = acc;
    acc *= Math.max(shape[i], 1);
  }
  return s;
}

/** The pickled OrderedDict; `legacy` adds the sixth (view) field torch's legacy persistent ids carry. */
function pickleStateDict(sd: StateDict, keys: string[], legacy: boolean): Uint8Array {
  const w = new PickleWriter().proto(2);
  w.global('collections', 'OrderedDict').emptyTuple().reduce().put();
  w.mark();
  let i = 0;
  for (const [name, t] of sd) {
    const cls = checkTensor(name, t);
    w.str(name);
    w.global('torch._utils', '_rebuild_tensor_v2');
    w.mark();
    // persistent id
    w.mark().str('storage').global('torch', cls).str(keys[i]).str('cpu').int(t.data.length);
    if (legacy) w.none();
    w.tuple().binpersid();
    w.int(0).intTuple(t.shape).intTuple(contiguousStride(t.shape)).bool(false);
    w.global('collections', 'OrderedDict').emptyTuple().reduce(); // backward_hooks
    w.tuple().reduce();
    i++;
  }
  w.setitems().stop();
  return w.finish();
}

/** The raw little-endian bytes of a tensor (this code assumes a little-endian host). */
function tensorBytes(t: HostTensor): Uint8Array {
  const d = t.data;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

function saveZip(sd: StateDict, prefix: string): Uint8Array {
  const keys = [...sd.keys()].map((_, i) => String(i));
  const enc = new TextEncoder();
  const entries = [
    { name: `${prefix}/data.pkl`, data: pickleStateDict(sd, keys, false) },
    { name: `${prefix}/.format_version`, data: enc.encode('1') },
    { name: `${prefix}/.storage_alignment`, data: enc.encode('64') },
    { name: `${prefix}/byteorder`, data: enc.encode('little') },
  ];
  let i = 0;
  for (const t of sd.values()) entries.push({ name: `${prefix}/data/${keys[i++]}`, data: tensorBytes(t) });
  entries.push({ name: `${prefix}/version`, data: enc.encode('3\n') });
  return writeStoredZip(entries);
}

function saveLegacy(sd: StateDict): Uint8Array {
  const keys = [...sd.keys()].map((_, i) => String(i));
  const magic = new PickleWriter().proto(2).int(LEGACY_MAGIC).stop().finish();
  const version = new PickleWriter().proto(2).int(LEGACY_PROTOCOL_VERSION).stop().finish();
  const sys = new PickleWriter()
    .proto(2)
    .emptyDict()
    .mark()
    .str('protocol_version')
    .int(LEGACY_PROTOCOL_VERSION)
    .str('little_endian')
    .bool(true)
    .str('type_sizes')
    .emptyDict()
    .mark()
    .str('short')
    .int(2)
    .str('int')
    .int(4)
    .str('long')
    .int(4)
    .setitems()
    .setitems()
    .stop()
    .finish();
  const main = pickleStateDict(sd, keys, true);
  const list = new PickleWriter().proto(2).emptyList().mark();
  for (const k of keys) list.str(k);
  const keyList = list.appends().stop().finish();
  const parts: Uint8Array[] = [magic, version, sys, main, keyList];
  for (const t of sd.values()) {
    const count = new Uint8Array(8);
    new DataView(count.buffer).setBigInt64(0, BigInt(t.data.length), true);
    parts.push(count, tensorBytes(t));
  }
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** Serializes a state_dict as a `.pth` file (zip by default). Throws Error on tensors torch cannot hold. */
export async function saveCheckpoint(sd: StateDict, opts: SaveOptions = {}): Promise<Uint8Array> {
  const format = opts.format ?? 'zip';
  const prefix = opts.prefix ?? 'archive';
  if (!/^[A-Za-z0-9_.-]+$/.test(prefix) || prefix === '.' || prefix === '..') {
    throw new Error(`saveCheckpoint: prefix '${prefix}' should be a plain folder name (letters, digits, _ . -)`);
  }
  return format === 'legacy' ? saveLegacy(sd) : saveZip(sd, prefix);
}
