/**
 * A tiny zip writer for uncompressed (STORE) entries whose data start on 64-byte boundaries, the layout
 * PyTorch writes for its checkpoints (so that storages can be read in place / memory-mapped). The padding
 * goes into the local header's extra field (id 'FB', as torch's own writer does). No zip64: archives are
 * limited to 4 GiB and 65535 entries, far beyond a state_dict here.
 */

export interface StoredEntry {
  name: string;
  data: Uint8Array;
}

export const ZIP_ALIGNMENT = 64;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const LOCAL_HEADER = 30;
const CENTRAL_HEADER = 46;
const END_RECORD = 22;
const FLAG_UTF8 = 0x0800;
// 1980-01-01 00:00: a fixed date keeps the output reproducible.
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

/** Writes a stored-only zip with every entry's data aligned to `alignment` bytes. */
export function writeStoredZip(entries: StoredEntry[], alignment = ZIP_ALIGNMENT): Uint8Array {
  if (entries.length > 0xffff) throw new Error(`zip: ${entries.length} entries (limit 65535 without zip64)`);
  const enc = new TextEncoder();
  const names = entries.map((e) => enc.encode(e.name));
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) throw new Error(`zip: duplicate entry '${e.name}'`);
    seen.add(e.name);
  }
  // Lay out local headers with padding so each data block starts aligned.
  const layout: { offset: number; extra: number; crc: number }[] = [];
  let pos = 0;
  for (let i = 0; i < entries.length; i++) {
    const base = pos + LOCAL_HEADER + names[i].length;
    let pad = (alignment - (base % alignment)) % alignment;
    if (pad > 0 && pad < 4) pad += alignment; // an extra field needs at least its 4-byte header
    layout.push({ offset: pos, extra: pad, crc: crc32(entries[i].data) });
    pos = base + pad + entries[i].data.length;
  }
  const cdOffset = pos;
  const cdSize = names.reduce((s, n) => s + CENTRAL_HEADER + n.length, 0);
  const total = cdOffset + cdSize + END_RECORD;
  if (total > 0xffffffff) throw new Error(`zip: ${total} bytes (limit 4 GiB without zip64)`);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < entries.length; i++) {
    const { offset, extra, crc } = layout[i];
    const size = entries[i].data.length;
    let p = offset;
    dv.setUint32(p, 0x04034b50, true);
    dv.setUint16(p + 4, 20, true); // version needed
    dv.setUint16(p + 6, FLAG_UTF8, true);
    dv.setUint16(p + 8, 0, true); // STORE
    dv.setUint16(p + 10, 0, true);
    dv.setUint16(p + 12, DOS_DATE, true);
    dv.setUint32(p + 14, crc, true);
    dv.setUint32(p + 18, size, true);
    dv.setUint32(p + 22, size, true);
    dv.setUint16(p + 26, names[i].length, true);
    dv.setUint16(p + 28, extra, true);
    p += LOCAL_HEADER;
    out.set(names[i], p);
    p += names[i].length;
    if (extra) {
      out[p] = 0x46;
      out[p + 1] = 0x42; // 'FB'
      dv.setUint16(p + 2, extra - 4, true);
      out.fill(0x5a, p + 4, p + extra); // 'Z'
      p += extra;
    }
    out.set(entries[i].data, p);
  }
  let p = cdOffset;
  for (let i = 0; i < entries.length; i++) {
    const { offset, crc } = layout[i];
    const size = entries[i].data.length;
    dv.setUint32(p, 0x02014b50, true);
    dv.setUint16(p + 4, 20, true); // version made by
    dv.setUint16(p + 6, 20, true); // version needed
    dv.setUint16(p + 8, FLAG_UTF8, true);
    dv.setUint16(p + 10, 0, true);
    dv.setUint16(p + 12, 0, true);
    dv.setUint16(p + 14, DOS_DATE, true);
    dv.setUint32(p + 16, crc, true);
    dv.setUint32(p + 20, size, true);
    dv.setUint32(p + 24, size, true);
    dv.setUint16(p + 28, names[i].length, true);
    // extra, comment, disk, internal attributes, external attributes: all 0
    dv.setUint32(p + 42, offset, true);
    out.set(names[i], p + CENTRAL_HEADER);
    p += CENTRAL_HEADER + names[i].length;
  }
  dv.setUint32(p, 0x06054b50, true);
  dv.setUint16(p + 8, entries.length, true);
  dv.setUint16(p + 10, entries.length, true);
  dv.setUint32(p + 12, cdSize, true);
  dv.setUint32(p + 16, cdOffset, true);
  return out;
}
