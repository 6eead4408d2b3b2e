/**
 * A restricted Python unpickler: enough of protocols 0-5 (binary opcodes) to read a PyTorch state_dict,
 * and nothing that can run code. Every global is looked up in an allowlist the caller supplies; an unknown
 * global is an InputError at the GLOBAL opcode itself, before anything could be called. The input is
 * hostile: every length is checked against the bytes left, the stack, mark stack and memo are bounded,
 * and the loop consumes at least one byte per opcode, so it always ends in O(input) steps.
 */
import { InputError } from './host_tensor';

/** A Python tuple (kept distinct from a list, which is a plain JS array). */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** Keys a dict may have here; anything else (tuples, objects) is refused as a dict key. */
export type PyKey = string | number | bigint | boolean | null;

/** A Python dict (or OrderedDict): insertion order kept; `state` holds what BUILD set (e.g. `_metadata`). */
export class PyDict {
  readonly map = new Map<PyKey, PyValue>();
  state: PyValue | undefined = undefined;
  constructor(readonly className = 'dict') {}
}

/** A Python set / frozenset, as a list of items. */
export class PySet {
  readonly items: PyValue[] = [];
  constructor(readonly frozen: boolean) {}
}

/** An allowlisted global (class or function), by dotted name. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly handler: GlobalHandler,
  ) {}
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Results of allowlisted calls are opaque objects owned by the caller (e.g. tensor references). */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | PyTuple
  | PyDict
  | PySet
  | PyGlobal
  | { readonly pyOpaque: true };

/** What an allowlisted global may do when the pickle calls it (REDUCE / NEWOBJ). */
export interface GlobalHandler {
  call?(args: PyValue[], fail: (problem: string) => never): PyValue;
}

export interface UnpickleOptions {
  /** Names the input in errors. */
  file: string;
  /** Allowlist, keyed by 'module.name'. */
  globals: ReadonlyMap<string, GlobalHandler>;
  /** Resolves BINPERSID ids; without it persistent ids are an error. */
  persistentLoad?(pid: PyValue, fail: (problem: string) => never): PyValue;
  /** Start offset in `bytes` (several pickles may follow each other, as in the legacy torch format). */
  offset?: number;
  maxStack?: number;
  maxMemo?: number;
  /** Largest Python int accepted, in bytes (LONG1/LONG4). */
  maxLongBytes?: number;
  /** Extra words for the error when a global is refused (e.g. 'save model.state_dict() instead'). */
  refusalHint?(qualname: string): string | undefined;
}

export interface UnpickleResult {
  value: PyValue;
  end: number;
}

const DEFAULT_MAX_STACK = 1 << 20;
const DEFAULT_MAX_MEMO = 1 << 20;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

/** A short human description of a Python value's type, for error messages. */
export function pyTypeName(v: PyValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyDict) return v.className;
  if (v instanceof PySet) return v.frozen ? 'frozenset' : 'set';
  if (v instanceof PyGlobal) return v.qualname;
  return 'object';
}

function isKey(v: PyValue): v is PyKey {
  return (
    v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean'
  );
}

/** Python int from little-endian two's complement bytes; small values as numbers. */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Unpickles one pickle starting at `opts.offset`; returns the value and the offset just after STOP. */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): UnpickleResult {
  const { file } = opts;
  const maxStack = opts.maxStack ?? DEFAULT_MAX_STACK;
  const maxMemo = opts.maxMemo ?? DEFAULT_MAX_MEMO;
  const maxLong = opts.maxLongBytes ?? 64;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  let pos = opts.offset ?? 0;
  let opPos = pos;

  const fail = (problem: string): never => {
    throw new InputError(file, `pickle error at byte ${opPos}: ${problem}`);
  };

  const need = (k: number): void => {
    if (k < 0 || pos + k > n) fail(`truncated (needs ${k} more bytes, ${n - pos} left)`);
  };
  const u8 = (): number => {
    need(1);
    return bytes[pos++];
  };
  const u16 = (): number => {
    need(2);
    const v = dv.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = dv.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = (): number => {
    need(4);
    const v = dv.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    // Anything beyond the bytes left is a lie; checked by the caller through need().
    return v > BigInt(n) ? n + 1 : Number(v);
  };
  const take = (k: number): Uint8Array => {
    need(k);
    const b = bytes.subarray(pos, pos + k);
    pos += k;
    return b;
  };
  const line = (): string => {
    // Search a bounded window so that a hostile input cannot make every opcode scan the whole buffer.
    const rel = bytes.subarray(pos, Math.min(n, pos + 4097)).indexOf(0x0a);
    if (rel < 0) fail('unterminated text line (over 4096 bytes)');
    const end = pos + rel;
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const decodeUtf8 = (b: Uint8Array): string => {
    try {
      return utf8.decode(b);
    } catch {
      return fail('invalid UTF-8 in a string');
    }
  };

  const stack: PyValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();

  const push = (v: PyValue): void => {
    if (stack.length >= maxStack) fail(`stack exceeds ${maxStack} items`);
    stack.push(v);
  };
  const pop = (): PyValue => {
    const floor = marks.length ? marks[marks.length - 1] : 0;
    if (stack.length <= floor) fail('stack underflow');
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    const floor = marks.length ? marks[marks.length - 1] : 0;
    if (stack.length <= floor) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): PyValue[] => {
    if (!marks.length) fail('no MARK on the stack');
    const m = marks.pop() as number;
    return stack.splice(m);
  };
  const put = (idx: number): void => {
    if (!memo.has(idx) && memo.size >= maxMemo) fail(`memo exceeds ${maxMemo} entries`);
    memo.set(idx, top());
  };
  const get = (idx: number): void => {
    if (!memo.has(idx)) fail(`memo key ${idx} is not set`);
    push(memo.get(idx) as PyValue);
  };
  const findGlobal = (module: string, name: string): PyGlobal => {
    const q = `${module}.${name}`;
    const h = opts.globals.get(q);
    if (!h) {
      const hint = opts.refusalHint?.(q);
      throw new InputError(
        file,
        `pickle refers to the global '${q}', which is not allowed in a checkpoint ` +
          '(only state_dict types such as collections.OrderedDict, torch._utils._rebuild_tensor_v2 and torch storage types are); ' +
          `nothing was executed${hint ? `. ${hint}` : ''}`,
      );
    }
    return new PyGlobal(module, name, h);
  };
  const call = (fn: PyValue, args: PyValue): PyValue => {
    if (!(fn instanceof PyGlobal)) return fail(`cannot call a ${pyTypeName(fn)}`);
    if (!(args instanceof PyTuple)) return fail(`arguments of ${fn.qualname} are a ${pyTypeName(args)}, not a tuple`);
    if (!fn.handler.call) return fail(`${fn.qualname} may not be called`);
    return fn.handler.call(args.items, (p) => fail(`${fn.qualname}: ${p}`));
  };
  const setItem = (d: PyValue, k: PyValue, v: PyValue): void => {
    if (!(d instanceof PyDict)) fail(`SETITEM on a ${pyTypeName(d)}`);
    if (!isKey(k)) fail(`dict key of type ${pyTypeName(k)} is not supported`);
    (d as PyDict).map.set(k as PyKey, v);
  };
  const appendTo = (l: PyValue, items: PyValue[]): void => {
    if (!Array.isArray(l)) fail(`APPEND on a ${pyTypeName(l)}`);
    const arr = l as PyValue[];
    if (arr.length + items.length > maxStack) fail(`list exceeds ${maxStack} items`);
    for (const it of items) arr.push(it);
  };

  for (;;) {
    opPos = pos;
    if (pos >= n) fail('ended before STOP');
    const op = bytes[pos++];
    switch (op) {
      case 0x80: {
        // PROTO
        const p = u8();
        if (p > 5) fail(`unsupported pickle protocol ${p}`);
        break;
      }
      case 0x95: {
        // FRAME: an 8-byte length, framing is only a hint for buffering
        need(8);
        pos += 8;
        break;
      }
      case 0x2e: {
        // STOP
        if (marks.length) fail('MARK left open at STOP');
        if (stack.length !== 1) fail(`STOP with ${stack.length} items on the stack`);
        return { value: stack[0], end: pos };
      }
      case 0x28: // MARK
        if (marks.length >= maxStack) fail('too many MARKs');
        marks.push(stack.length);
        break;
      case 0x30:
        pop();
        break; // POP
      case 0x31:
        popMark();
        break; // POP_MARK
      case 0x32:
        push(top());
        break; // DUP
      case 0x4e:
        push(null);
        break; // NONE
      case 0x88:
        push(true);
        break; // NEWTRUE
      case 0x89:
        push(false);
        break; // NEWFALSE
      case 0x4a:
        push(i32());
        break; // BININT
      case 0x4b:
        push(u8());
        break; // BININT1
      case 0x4d:
        push(u16());
        break; // BININT2
      case 0x8a: {
        // LONG1
        const k = u8();
        if (k > maxLong) fail(`integer of ${k} bytes is too large`);
        push(decodeLong(take(k)));
        break;
      }
      case 0x8b: {
        // LONG4
        const k = i32();
        if (k < 0 || k > maxLong) fail(`integer of ${k} bytes is too large`);
        push(decodeLong(take(k)));
        break;
      }
      case 0x49: {
        // INT (text, protocol 0); also encodes True/False as 01/00
        const s = line().trim();
        if (s === '01') push(true);
        else if (s === '00') push(false);
        else if (/^[-+]?\d{1,15}$/.test(s)) push(Number(s));
        else fail(`bad INT '${s.slice(0, 20)}'`);
        break;
      }
      case 0x47: {
        need(8);
        push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      } // BINFLOAT (big-endian)
      case 0x58:
        push(decodeUtf8(take(u32())));
        break; // BINUNICODE
      case 0x8c:
        push(decodeUtf8(take(u8())));
        break; // SHORT_BINUNICODE
      case 0x8d:
        push(decodeUtf8(take(u64())));
        break; // BINUNICODE8
      case 0x54: {
        // BINSTRING (Python 2 str): torch.load decodes as utf-8 by default
        const k = i32();
        if (k < 0) fail('negative string length');
        const b = take(k);
        try {
          push(utf8.decode(b));
        } catch {
          push(latin1.decode(b));
        }
        break;
      }
      case 0x55: {
        // SHORT_BINSTRING
        const b = take(u8());
        try {
          push(utf8.decode(b));
        } catch {
          push(latin1.decode(b));
        }
        break;
      }
      case 0x42:
        push(new Uint8Array(take(u32())));
        break; // BINBYTES
      case 0x43:
        push(new Uint8Array(take(u8())));
        break; // SHORT_BINBYTES
      case 0x8e:
        push(new Uint8Array(take(u64())));
        break; // BINBYTES8
      case 0x96:
        push(new Uint8Array(take(u64())));
        break; // BYTEARRAY8 (as bytes)
      case 0x29:
        push(new PyTuple([]));
        break; // EMPTY_TUPLE
      case 0x74:
        push(new PyTuple(popMark()));
        break; // TUPLE
      case 0x85: {
        const a = pop();
        push(new PyTuple([a]));
        break;
      } // TUPLE1
      case 0x86: {
        const b = pop();
        const a = pop();
        push(new PyTuple([a, b]));
        break;
      } // TUPLE2
      case 0x87: {
        const c = pop();
        const b = pop();
        const a = pop();
        push(new PyTuple([a, b, c]));
        break;
      } // TUPLE3
      case 0x5d:
        push([]);
        break; // EMPTY_LIST
      case 0x6c:
        push(popMark());
        break; // LIST
      case 0x61: {
        const v = pop();
        appendTo(top(), [v]);
        break;
      } // APPEND
      case 0x65: {
        const items = popMark();
        appendTo(top(), items);
        break;
      } // APPENDS
      case 0x7d:
        push(new PyDict());
        break; // EMPTY_DICT
      case 0x64: {
        // DICT
        const items = popMark();
        if (items.length % 2) fail('DICT with an odd number of items');
        const d = new PyDict();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        push(d);
        break;
      }
      case 0x73: {
        const v = pop();
        const k = pop();
        setItem(top(), k, v);
        break;
      } // SETITEM
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2) fail('SETITEMS with an odd number of items');
        const d = top();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      case 0x8f:
        push(new PySet(false));
        break; // EMPTY_SET
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof PySet) || s.frozen) fail(`ADDITEMS on a ${pyTypeName(s)}`);
        for (const it of items) (s as PySet).items.push(it);
        break;
      }
      case 0x91: {
        const s = new PySet(true);
        s.items.push(...popMark());
        push(s);
        break;
      } // FROZENSET
      case 0x71:
        put(u8());
        break; // BINPUT
      case 0x72:
        put(u32());
        break; // LONG_BINPUT
      case 0x94:
        put(memo.size);
        break; // MEMOIZE
      case 0x68:
        get(u8());
        break; // BINGET
      case 0x6a:
        get(u32());
        break; // LONG_BINGET
      case 0x70: {
        const s = line();
        if (!/^\d{1,9}$/.test(s)) fail('bad PUT');
        put(Number(s));
        break;
      } // PUT
      case 0x67: {
        const s = line();
        if (!/^\d{1,9}$/.test(s)) fail('bad GET');
        get(Number(s));
        break;
      } // GET
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        push(findGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(findGlobal(module as string, name as string));
        break;
      }
      case 0x52: {
        const args = pop();
        const fn = pop();
        push(call(fn, args));
        break;
      } // REDUCE
      case 0x81: {
        const args = pop();
        const cls = pop();
        push(call(cls, args));
        break;
      } // NEWOBJ: cls.__new__(cls, *args)
      case 0x62: {
        // BUILD: obj.__setstate__(state); only dicts keep their state (OrderedDict._metadata)
        const state = pop();
        const obj = top();
        if (obj instanceof PyDict) obj.state = state;
        else fail(`BUILD on a ${pyTypeName(obj)} is not supported`);
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) fail('persistent id in a pickle that should have none');
        push(opts.persistentLoad!(pid, (p) => fail(`persistent id: ${p}`)));
        break;
      }
      default:
        fail(`unsupported or forbidden opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}

// ---- helpers for handlers: typed access to arguments, with errors in words ----

export function asInt(v: PyValue | undefined, what: string, fail: (p: string) => never): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return fail(`${what} ${v} is out of range`);
  return fail(`${what} should be an int, got ${pyTypeName(v)}`);
}

export function asIntTuple(v: PyValue | undefined, what: string, fail: (p: string) => never): number[] {
  const items =
    v instanceof PyTuple ? v.items : Array.isArray(v) ? v : fail(`${what} should be a tuple, got ${pyTypeName(v)}`);
  return items.map((x, i) => asInt(x, `${what}[${i}]`, fail));
}

export function asString(v: PyValue | undefined, what: string, fail: (p: string) => never): string {
  return typeof v === 'string' ? v : fail(`${what} should be a str, got ${pyTypeName(v)}`);
}
