/**
 * Reads PyTorch `.pth` checkpoints (state_dicts) without Python, in Node and in the browser.
 *
 * Two container formats:
 * - zip (torch >= 1.6): `<prefix>/data.pkl` (the pickled object, storages as persistent ids) and one raw
 *   little-endian entry per storage, `<prefix>/data/<key>`; the prefix is arbitrary (usually the file stem
 *   or 'archive').
 * - legacy (older releases, and `_use_new_zipfile_serialization=False`): five things back to back: the
 *   pickled magic number 0x1950a86a20f9469cfc6c, the pickled protocol version 1001, a pickled sys-info dict,
 *   the pickled object, the pickled list of storage keys; then for each key, an int64 element count and
 *   the raw bytes.
 *
 * Both are read by random access (a Blob is never read whole): the zip's central directory and data.pkl, or the
 * legacy file's pickles at its start, then only the storages of the tensors asked for (`keep`), so a 528 MB
 * torchvision file yields its first convolutions from a few MB read; `stats` counts what was read.
 *
 * The pickle is read by the restricted unpickler (src/io/pickle.ts) with only the globals a state_dict
 * needs. Tensors are materialized in C order honouring offsets and strides; float64 and bfloat16 become
 * float32 (the model runs in float32), other dtypes are kept.
 */
import { type ByteSource, byteSource, countPart, type ReadStats } from './byte_source';
import { type HostTensor, InputError, type NumericDType, numel, type StateDict } from './host_tensor';
import {
  asInt,
  asIntTuple,
  asString,
  type GlobalHandler,
  PyDict,
  PyGlobal,
  PyTuple,
  type PyValue,
  pyTypeName,
  unpickle,
} from './pickle';
import { looksLikeZip, ZipArchive } from './zip_archive';

/** Element types a torch storage can have here. 'bfloat16' exists only on the way in (converted). */
export type StorageDType = NumericDType | 'bfloat16';

/** Storage classes torch writes into persistent ids, with their element type. */
export const STORAGE_TYPES: ReadonlyMap<string, StorageDType> = new Map<string, StorageDType>([
  ['torch.FloatStorage', 'float32'],
  ['torch.DoubleStorage', 'float64'],
  ['torch.HalfStorage', 'float16'],
  ['torch.BFloat16Storage', 'bfloat16'],
  ['torch.LongStorage', 'int64'],
  ['torch.IntStorage', 'int32'],
  ['torch.ShortStorage', 'int16'],
  ['torch.CharStorage', 'int8'],
  ['torch.ByteStorage', 'uint8'],
  ['torch.BoolStorage', 'bool'],
  ['torch.UntypedStorage', 'uint8'],
  ['torch.storage.UntypedStorage', 'uint8'],
]);

export const ELEMENT_BYTES: Record<StorageDType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
  uint16: 2,
  uint32: 4,
  uint64: 8,
};

/** Largest storage we accept (bytes). */
export const MAX_STORAGE_BYTES = 1 << 30;
/** Largest tensor we materialize (elements), and all tensors together. */
export const MAX_TENSOR_ELEMENTS = 1 << 28;
export const MAX_TOTAL_ELEMENTS = 1 << 29;
/** Largest data.pkl we unpickle (bytes): a state_dict pickle is a few KB per tensor. */
export const MAX_PICKLE_BYTES = 64 << 20;

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

/** A storage named by a persistent id; its bytes are fetched after unpickling. */
export interface StorageRef {
  readonly pyOpaque: true;
  readonly kind: 'storage';
  key: string;
  dtype: StorageDType;
  location: string;
  numel: number;
  /** Legacy format only: a view into another storage (key of the root, offset and length in elements). */
  view?: { rootKey: string; offset: number; numel: number };
}

/** A tensor as `_rebuild_tensor_v2` describes it. */
export interface TensorRef {
  readonly pyOpaque: true;
  readonly kind: 'tensor';
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

function isStorage(v: PyValue | undefined): v is StorageRef & PyValue {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'storage' && 'pyOpaque' in v;
}
function isTensor(v: PyValue | undefined): v is TensorRef & PyValue {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'tensor' && 'pyOpaque' in v;
}

function rebuildTensor(args: PyValue[], fail: (p: string) => never): PyValue {
  if (args.length < 4) fail(`expected at least 4 arguments, got ${args.length}`);
  const storage = args[0];
  if (!isStorage(storage)) return fail(`first argument should be a storage, got ${pyTypeName(storage)}`);
  const offset = asInt(args[1], 'storage offset', fail);
  const shape = asIntTuple(args[2], 'size', fail);
  const stride = asIntTuple(args[3], 'stride', fail);
  if (shape.length !== stride.length) fail(`size has ${shape.length} dims but stride has ${stride.length}`);
  if (shape.length > 32) fail(`${shape.length} dimensions`);
  const t: TensorRef = { pyOpaque: true, kind: 'tensor', storage, offset, shape, stride };
  return t as TensorRef & PyValue;
}

/** The globals a state_dict pickle may name. Storage classes are tokens only: calling them is refused. */
function stateDictGlobals(): Map<string, GlobalHandler> {
  const g = new Map<string, GlobalHandler>();
  g.set('collections.OrderedDict', {
    call(args, fail) {
      const d = new PyDict('OrderedDict');
      if (args.length === 0) return d;
      const src = args[0];
      const pairs = Array.isArray(src)
        ? src
        : src instanceof PyTuple
          ? src.items
          : fail('OrderedDict(...) of a non-sequence');
      for (const p of pairs) {
        if (!(p instanceof PyTuple) || p.items.length !== 2) fail('OrderedDict item is not a pair');
        const [k, v] = (p as PyTuple).items;
        if (typeof k !== 'string') fail('OrderedDict key is not a str');
        d.map.set(k as string, v);
      }
      return d;
    },
  });
  g.set('torch._utils._rebuild_tensor_v2', { call: rebuildTensor });
  g.set('torch._utils._rebuild_tensor', { call: rebuildTensor });
  // A Parameter is read as its plain tensor (requires_grad and hooks mean nothing here).
  const param: GlobalHandler = {
    call(args, fail) {
      if (!isTensor(args[0])) return fail(`expected a tensor, got ${pyTypeName(args[0])}`);
      return args[0];
    },
  };
  g.set('torch._utils._rebuild_parameter', param);
  g.set('torch._utils._rebuild_parameter_with_state', param);
  // torch.Size(tuple) may appear in tensor metadata.
  g.set('torch.Size', { call: (args) => (args[0] instanceof PyTuple ? args[0] : new PyTuple([])) });
  for (const name of STORAGE_TYPES.keys()) g.set(name, {});
  return g;
}

function storageDType(t: PyValue | undefined, fail: (p: string) => never): StorageDType {
  if (!(t instanceof PyGlobal)) return fail(`storage type should be a torch storage class, got ${pyTypeName(t)}`);
  const d = STORAGE_TYPES.get(t.qualname);
  return d ?? fail(`unsupported storage type ${t.qualname}`);
}

/** Why a refused global might be there, in the user's terms. */
function refusalHint(q: string): string | undefined {
  if (q.startsWith('torch.nn.') || q.startsWith('neuralpredictors.') || q.startsWith('__main__.')) {
    return 'The file holds a pickled model object, not a state_dict: save model.state_dict() instead';
  }
  if (q.startsWith('numpy.')) return 'The file holds NumPy objects; only tensors are read';
  return undefined;
}

/** Collects storages by key so that tensors sharing one storage share the bytes. */
class StorageTable {
  readonly byKey = new Map<string, StorageRef>();

  add(ref: StorageRef, fail: (p: string) => never): StorageRef {
    const old = this.byKey.get(ref.key);
    if (old) {
      if (old.dtype !== ref.dtype || old.numel !== ref.numel)
        fail(`storage '${ref.key}' is described twice differently`);
      return old;
    }
    if (ref.numel < 0) fail(`storage '${ref.key}' has a negative size`);
    const bytes = ref.numel * ELEMENT_BYTES[ref.dtype];
    if (bytes > MAX_STORAGE_BYTES) {
      fail(
        `storage '${ref.key}' claims ${ref.numel} ${ref.dtype} elements (${(bytes / 2 ** 30).toFixed(2)} GiB), over the limit of ${MAX_STORAGE_BYTES / 2 ** 30} GiB`,
      );
    }
    this.byKey.set(ref.key, ref);
    return ref;
  }
}

/** Persistent id of the zip format: ('storage', storage_type, key, location, numel). */
function zipPersistentLoad(table: StorageTable) {
  return (pid: PyValue, fail: (p: string) => never): PyValue => {
    if (!(pid instanceof PyTuple)) return fail(`expected a tuple, got ${pyTypeName(pid)}`);
    const [tag, type, key, location, n] = pid.items;
    if (tag !== 'storage' || pid.items.length !== 5)
      return fail(`unsupported persistent id ('${String(tag)}', ...) of ${pid.items.length} items`);
    const ref: StorageRef = {
      pyOpaque: true,
      kind: 'storage',
      dtype: storageDType(type, fail),
      key: asString(key, 'storage key', fail),
      location: asString(location, 'location', fail),
      numel: asInt(n, 'storage size', fail),
    };
    return table.add(ref, fail) as StorageRef & PyValue;
  };
}

/** Persistent id of the legacy format: ('storage', storage_type, root_key, location, numel, view_metadata). */
function legacyPersistentLoad(table: StorageTable) {
  return (pid: PyValue, fail: (p: string) => never): PyValue => {
    if (!(pid instanceof PyTuple)) return fail(`expected a tuple, got ${pyTypeName(pid)}`);
    const [tag, type, key, location, n, view] = pid.items;
    if (tag === 'module')
      return fail('the checkpoint holds a pickled nn.Module, not a state_dict; save model.state_dict() instead');
    if (tag !== 'storage' || pid.items.length !== 6)
      return fail(`unsupported persistent id ('${String(tag)}', ...) of ${pid.items.length} items`);
    const dtype = storageDType(type, fail);
    const root = table.add(
      {
        pyOpaque: true,
        kind: 'storage',
        dtype,
        key: asString(key, 'storage key', fail),
        location: asString(location, 'location', fail),
        numel: asInt(n, 'storage size', fail),
      },
      fail,
    );
    if (view === null || view === undefined) return root as StorageRef & PyValue;
    if (!(view instanceof PyTuple) || view.items.length !== 3)
      return fail('view metadata should be (key, offset, size)');
    const viewKey = asString(view.items[0], 'view key', fail);
    const offset = asInt(view.items[1], 'view offset', fail);
    const size = asInt(view.items[2], 'view size', fail);
    if (offset < 0 || size < 0 || offset + size > root.numel)
      fail(
        `view '${viewKey}' [${offset}, ${offset + size}) lies outside storage '${root.key}' of ${root.numel} elements`,
      );
    const v: StorageRef = {
      pyOpaque: true,
      kind: 'storage',
      dtype,
      key: viewKey,
      location: root.location,
      numel: size,
      view: { rootKey: root.key, offset, numel: size },
    };
    return v as StorageRef & PyValue;
  };
}

export interface ReadCheckpointOptions {
  /** Which state_dict keys to materialize (default all); the others' storages are not read. */
  keep?: (key: string) => boolean;
  /** Counts the bytes read from the source and per zip entry / legacy storage. */
  stats?: ReadStats;
}

/** The tensors `keep` asks for (all without it), with a note on how many were left unread. */
function keptTensors(
  tensors: Map<string, TensorRef>,
  keep: ((key: string) => boolean) | undefined,
  notes: string[],
): Map<string, TensorRef> {
  if (!keep) return tensors;
  const out = new Map([...tensors].filter(([k]) => keep(k)));
  if (out.size < tensors.size)
    notes.push(`read ${out.size} of the ${tensors.size} tensors (the others are not needed)`);
  return out;
}

export interface CheckpointContents {
  stateDict: StateDict;
  format: 'zip' | 'legacy';
  /** Things the user may want to know (conversions, skipped entries, which dict was used). */
  notes: string[];
}

/** Finds the state_dict in the unpickled object: the object itself, or its 'state_dict' / 'model_state_dict' entry. */
function findStateDict(root: PyValue, file: string, notes: string[]): Map<string, TensorRef> {
  if (!(root instanceof PyDict)) {
    throw new InputError(file, `checkpoint holds a Python ${pyTypeName(root)}, not a state_dict (a dict of tensors)`);
  }
  let dict = root;
  for (const k of ['state_dict', 'model_state_dict']) {
    const inner = root.map.get(k);
    if (inner instanceof PyDict) {
      dict = inner;
      notes.push(`using the checkpoint's '${k}' entry`);
      break;
    }
  }
  const out = new Map<string, TensorRef>();
  const skipped: string[] = [];
  for (const [k, v] of dict.map) {
    if (typeof k === 'string' && isTensor(v)) out.set(k, v);
    else skipped.push(String(k));
  }
  if (skipped.length)
    notes.push(
      `skipped ${skipped.length} non-tensor entries: ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ', ...' : ''}`,
    );
  if (out.size === 0)
    throw new InputError(
      file,
      'checkpoint holds no tensors (expected a state_dict, or a dict with a state_dict or model_state_dict entry)',
    );
  return out;
}

type StorageArray =
  | Float32Array
  | Float64Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | Uint32Array
  | BigUint64Array;

/** Raw little-endian storage bytes as a typed array (this code assumes a little-endian host, as all current ones are). */
function decodeStorage(b: Uint8Array, dtype: StorageDType, n: number): StorageArray {
  const size = ELEMENT_BYTES[dtype];
  // Copy when misaligned (new Uint8Array(view) copies; Buffer#slice would not).
  const src = b.byteOffset % size === 0 ? b : new Uint8Array(b.subarray(0, n * size));
  const buf = src.buffer as ArrayBuffer;
  const off = src.byteOffset;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf, off, n);
    case 'float64':
      return new Float64Array(buf, off, n);
    case 'float16':
    case 'bfloat16':
    case 'uint16':
      return new Uint16Array(buf, off, n);
    case 'int64':
      return new BigInt64Array(buf, off, n);
    case 'uint64':
      return new BigUint64Array(buf, off, n);
    case 'int32':
      return new Int32Array(buf, off, n);
    case 'uint32':
      return new Uint32Array(buf, off, n);
    case 'int16':
      return new Int16Array(buf, off, n);
    case 'int8':
      return new Int8Array(buf, off, n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buf, off, n);
  }
}

/** Copies the elements a (shape, stride, offset) view selects into a new C-order array. */
function gather(src: StorageArray, shape: number[], stride: number[], offset: number, count: number): StorageArray {
  const Ctor = src.constructor as new (n: number) => StorageArray;
  let contiguous = true;
  for (let i = shape.length - 1, s = 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== s) contiguous = false;
    s *= shape[i];
  }
  if (contiguous) return src.slice(offset, offset + count) as StorageArray;
  const out = new Ctor(count);
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  let p = offset;
  const o = out as unknown as { [i: number]: number | bigint };
  const s = src as unknown as { [i: number]: number | bigint };
  for (let k = 0; k < count; k++) {
    o[k] = s[p];
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) {
        p += stride[d];
        break;
      }
      p -= (shape[d] - 1) * stride[d];
      idx[d] = 0;
    }
  }
  return out;
}

function toHost(data: StorageArray, dtype: StorageDType, shape: number[]): HostTensor {
  if (dtype === 'float64') return { dtype: 'float32', shape, data: Float32Array.from(data as Float64Array) };
  if (dtype === 'bfloat16') {
    const bits = new Uint32Array((data as Uint16Array).length);
    const h = data as Uint16Array;
    for (let i = 0; i < h.length; i++) bits[i] = h[i] << 16;
    return { dtype: 'float32', shape, data: new Float32Array(bits.buffer) };
  }
  return { dtype, shape, data } as HostTensor;
}

/** Turns tensor references into host tensors, fetching each storage's bytes once. */
interface StorageSource {
  /** Throws an InputError unless the storage's bytes are present in full (checked before anything is allocated). */
  check(ref: StorageRef): void;
  fetch(ref: StorageRef): Promise<Uint8Array>;
}

async function materialize(
  file: string,
  tensors: Map<string, TensorRef>,
  table: StorageTable,
  source: StorageSource,
  notes: string[],
): Promise<StateDict> {
  const rootOf = (ref: StorageRef, name: string): StorageRef => {
    const r = ref.view ? table.byKey.get(ref.view.rootKey) : ref;
    if (!r) throw new InputError(file, `tensor '${name}': storage '${ref.view?.rootKey}' is unknown`);
    return r;
  };
  // Validate every claim before allocating anything: storages present and long enough, each tensor inside
  // its storage, and the tensors together not much larger than the storages (an expanded stride-0 view
  // could otherwise turn a few bytes into gigabytes).
  let storageElements = 0;
  const checked = new Set<string>();
  let total = 0;
  for (const [name, t] of tensors) {
    const bad = (p: string): never => {
      throw new InputError(file, `tensor '${name}': ${p}`);
    };
    if (t.shape.some((d) => d < 0)) bad(`negative size (${t.shape.join(', ')})`);
    if (t.stride.some((s) => s < 0)) bad(`negative stride (${t.stride.join(', ')})`);
    if (t.offset < 0) bad(`negative storage offset ${t.offset}`);
    const count = numel(t.shape);
    if (count > MAX_TENSOR_ELEMENTS) bad(`claims ${count} elements, over the limit of ${MAX_TENSOR_ELEMENTS}`);
    if (count > 0) {
      let last = t.offset;
      for (let d = 0; d < t.shape.length; d++) last += (t.shape[d] - 1) * t.stride[d];
      if (last >= t.storage.numel) {
        bad(
          `needs element ${last} of storage '${t.storage.key}', which holds only ${t.storage.numel} elements (shape (${t.shape.join(', ')}), stride (${t.stride.join(', ')}), offset ${t.offset})`,
        );
      }
      const root = rootOf(t.storage, name);
      if (!checked.has(root.key)) {
        source.check(root);
        checked.add(root.key);
        storageElements += root.numel;
      }
    }
    total += count;
  }
  if (total > MAX_TOTAL_ELEMENTS || total > 4 * storageElements + (1 << 20)) {
    throw new InputError(
      file,
      `tensors claim ${total} elements in all from storages of ${storageElements} elements; refused as absurd`,
    );
  }

  const decoded = new Map<string, StorageArray>();
  const getStorage = async (ref: StorageRef, name: string): Promise<StorageArray> => {
    const root = rootOf(ref, name);
    let arr = decoded.get(root.key);
    if (!arr) {
      const bytes = await source.fetch(root);
      const need = root.numel * ELEMENT_BYTES[root.dtype];
      if (bytes.length < need) {
        throw new InputError(
          file,
          `storage '${root.key}' (for tensor '${name}') holds ${bytes.length} bytes, but ${root.numel} ${root.dtype} elements need ${need}`,
        );
      }
      arr = decodeStorage(bytes, root.dtype, root.numel);
      decoded.set(root.key, arr);
    }
    return ref.view ? (arr.subarray(ref.view.offset, ref.view.offset + ref.view.numel) as StorageArray) : arr;
  };

  const sd: StateDict = new Map();
  const converted: string[] = [];
  for (const [name, t] of tensors) {
    const count = numel(t.shape);
    const src = count > 0 ? await getStorage(t.storage, name) : decodeStorage(new Uint8Array(0), t.storage.dtype, 0);
    const data = gather(src, t.shape, t.stride, t.offset, count);
    if (t.storage.dtype === 'float64' || t.storage.dtype === 'bfloat16') converted.push(name);
    sd.set(name, toHost(data, t.storage.dtype, [...t.shape]));
  }
  if (converted.length)
    notes.push(
      `converted ${converted.length} float64/bfloat16 tensors to float32: ${converted.slice(0, 5).join(', ')}${converted.length > 5 ? ', ...' : ''}`,
    );
  return sd;
}

async function readZipCheckpoint(
  source: Blob | Uint8Array,
  file: string,
  opts: ReadCheckpointOptions,
): Promise<CheckpointContents> {
  let zip: ZipArchive;
  try {
    zip = await ZipArchive.open(source, file, opts.stats);
  } catch (e) {
    if (e instanceof InputError)
      throw new InputError(file, `looks like a zip-format checkpoint but is truncated or corrupt: ${e.problem}`);
    throw e;
  }
  try {
    const pkls = zip.names().filter((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
    if (pkls.length === 0) throw new InputError(file, 'zip archive has no data.pkl entry: not a PyTorch checkpoint');
    // Torch itself uses the first directory of the archive; a nested copy would be odd but is not ambiguous
    // if only one is at the top level.
    const top = pkls.filter((n) => n.split('/').length <= 2);
    if (top.length !== 1)
      throw new InputError(
        file,
        `zip archive has ${pkls.length} data.pkl entries (${pkls.slice(0, 3).join(', ')}); expected one`,
      );
    const prefix = top[0].slice(0, top[0].length - 'data.pkl'.length);
    const notes: string[] = [];
    if (zip.has(`${prefix}byteorder`)) {
      const order = new TextDecoder().decode(await zip.read(`${prefix}byteorder`, 16)).trim();
      if (order !== 'little')
        throw new InputError(
          file,
          `checkpoint byte order is '${order.slice(0, 16)}'; only little-endian checkpoints are supported`,
        );
    }
    const pkl = await zip.read(top[0], MAX_PICKLE_BYTES);
    const table = new StorageTable();
    const { value } = unpickle(pkl, {
      file,
      globals: stateDictGlobals(),
      persistentLoad: zipPersistentLoad(table),
      refusalHint,
    });
    const tensors = keptTensors(findStateDict(value, file, notes), opts.keep, notes);
    const entryOf = (ref: StorageRef) => `${prefix}data/${ref.key}`;
    const sd = await materialize(
      file,
      tensors,
      table,
      {
        check(ref) {
          const name = entryOf(ref);
          const info = zip.info(name);
          if (!info) throw new InputError(file, `missing storage entry '${name}'`);
          const need = ref.numel * ELEMENT_BYTES[ref.dtype];
          // torch writes each storage as exactly its bytes; any other size means a corrupt or forged file.
          if (info.size !== need) {
            throw new InputError(
              file,
              `storage entry '${name}' holds ${info.size} bytes, but its description (${ref.numel} ${ref.dtype} elements) needs ${need}`,
            );
          }
        },
        fetch: (ref) => zip.read(entryOf(ref), Math.max(ref.numel * ELEMENT_BYTES[ref.dtype], 16)),
      },
      notes,
    );
    return { stateDict: sd, format: 'zip', notes };
  } finally {
    await zip.close();
  }
}

/** The legacy file's pickles (magic, protocol, sys info, the state_dict, the storage keys) and where they end. */
interface LegacyHead {
  tensors: Map<string, TensorRef>;
  table: StorageTable;
  keys: string[];
  /** Byte offset of the first storage. */
  end: number;
}

function parseLegacyHead(bytes: Uint8Array, file: string, notes: string[]): LegacyHead {
  const plain = new Map<string, GlobalHandler>();
  const magic = unpickle(bytes, { file, globals: plain, offset: 0 });
  if (magic.value !== LEGACY_MAGIC)
    throw new InputError(file, 'not a PyTorch checkpoint: a pickle, but without the torch magic number');
  const version = unpickle(bytes, { file, globals: plain, offset: magic.end });
  if (version.value !== LEGACY_PROTOCOL_VERSION)
    throw new InputError(file, `unsupported legacy checkpoint protocol version ${String(version.value)}`);
  const sysInfo = unpickle(bytes, { file, globals: plain, offset: version.end });
  if (sysInfo.value instanceof PyDict && sysInfo.value.map.get('little_endian') === false) {
    throw new InputError(file, 'checkpoint was written on a big-endian machine; not supported');
  }
  const table = new StorageTable();
  const main = unpickle(bytes, {
    file,
    globals: stateDictGlobals(),
    persistentLoad: legacyPersistentLoad(table),
    offset: sysInfo.end,
    refusalHint,
  });
  const tensors = findStateDict(main.value, file, notes);
  const keysPickle = unpickle(bytes, { file, globals: plain, offset: main.end });
  const keys = keysPickle.value;
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string'))
    throw new InputError(file, 'legacy checkpoint: storage key list is not a list of strings');
  return { tensors, table, keys: keys as string[], end: keysPickle.end };
}

/** First guess at the pickles' length (a state_dict pickle is a few KB per tensor); grown 8x while it falls short. */
const LEGACY_HEAD_GUESS = 1 << 16;

async function readLegacyCheckpoint(
  src: ByteSource,
  file: string,
  opts: ReadCheckpointOptions,
): Promise<CheckpointContents> {
  const notes: string[] = [];
  // The pickles come first and their length is known only once they are parsed: read a prefix, longer if needed.
  const headLimit = Math.min(src.size, MAX_PICKLE_BYTES);
  let head: LegacyHead | null = null;
  for (
    let n = src.inMemory ? headLimit : Math.min(LEGACY_HEAD_GUESS, headLimit);
    head === null;
    n = Math.min(n * 8, headLimit)
  ) {
    const prefix = await src.read(0, n);
    try {
      head = parseLegacyHead(prefix, file, notes);
    } catch (e) {
      if (n >= headLimit) throw e;
      notes.length = 0;
    }
  }
  countPart(opts.stats, 'pickles', head.end);
  const { table, keys } = head;
  const tensors = keptTensors(head.tensors, opts.keep, notes);
  // Storages follow in the order of the key list: int64 element count, then the bytes. Their offsets follow from
  // the descriptions; only the storages fetched are read (and their counts checked).
  const offsets = new Map<string, number>();
  let pos = head.end;
  for (const key of keys) {
    const ref = table.byKey.get(key);
    if (!ref) throw new InputError(file, `legacy checkpoint lists storage '${key}', which no tensor uses`);
    if (offsets.has(key)) throw new InputError(file, `legacy checkpoint lists storage '${key}' twice`);
    const nbytes = ref.numel * ELEMENT_BYTES[ref.dtype];
    if (pos + 8 > src.size)
      throw new InputError(file, `truncated: storage '${key}' header is missing (file ends at byte ${src.size})`);
    if (pos + 8 + nbytes > src.size) {
      throw new InputError(
        file,
        `truncated: storage '${key}' needs ${nbytes} bytes at byte ${pos + 8}, only ${src.size - pos - 8} left`,
      );
    }
    offsets.set(key, pos);
    pos += 8 + nbytes;
  }
  if (pos !== src.size) notes.push(`${src.size - pos} trailing bytes after the last storage ignored`);
  const sd = await materialize(
    file,
    tensors,
    table,
    {
      check(ref) {
        if (!offsets.has(ref.key))
          throw new InputError(file, `storage '${ref.key}' has no data in the file (not in its storage list)`);
      },
      fetch: async (ref) => {
        const at = offsets.get(ref.key)!;
        const nbytes = ref.numel * ELEMENT_BYTES[ref.dtype];
        const b = await src.read(at, 8 + nbytes);
        const count = new DataView(b.buffer, b.byteOffset, 8).getBigInt64(0, true);
        if (count !== BigInt(ref.numel))
          throw new InputError(
            file,
            `storage '${ref.key}' holds ${count} elements on disk but ${ref.numel} in its description`,
          );
        countPart(opts.stats, `storage ${ref.key}`, nbytes);
        return b.subarray(8);
      },
    },
    notes,
  );
  return { stateDict: sd, format: 'legacy', notes };
}

/** Reads a checkpoint with notes on what was converted or skipped; `opts.keep` limits which tensors are read. */
export async function readCheckpointContents(
  source: Uint8Array | Blob,
  file: string,
  opts: ReadCheckpointOptions = {},
): Promise<CheckpointContents> {
  const src = byteSource(source, file, opts.stats);
  const head = await src.read(0, 4);
  if (looksLikeZip(head)) return readZipCheckpoint(source, file, opts);
  if (head.length >= 2 && head[0] === 0x80 && head[1] <= 5) return readLegacyCheckpoint(src, file, opts);
  if (head.length < 4) throw new InputError(file, `file is ${head.length} bytes long: not a PyTorch checkpoint`);
  throw new InputError(
    file,
    'not a PyTorch checkpoint: neither a zip archive (torch >= 1.6) nor a legacy pickle (wrong magic bytes ' +
      `${[...head].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`,
  );
}

/** Reads a `.pth` state_dict (zip or legacy format). Errors are InputErrors naming `file`. */
export async function readCheckpoint(
  source: Uint8Array | Blob,
  file: string,
  opts: ReadCheckpointOptions = {},
): Promise<StateDict> {
  return (await readCheckpointContents(source, file, opts)).stateDict;
}
