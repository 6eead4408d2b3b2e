/**
 * A dense row-major matrix of numbers: one row per item (a neuron), one column per variable (a core channel).
 * The analysis functions take and return plain typed arrays in this form, so they run the same in Node, the
 * page and a Web Worker, and a matrix crosses postMessage as one transferable buffer.
 */
export interface Matrix {
  /** rows * cols values, row-major: element (i, j) at i * cols + j. */
  data: Float32Array | Float64Array;
  rows: number;
  cols: number;
}

/** A Matrix over `data`, checking that the sizes agree. */
export function matrix(data: Float32Array | Float64Array, rows: number, cols: number): Matrix {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new Error(`matrix size must be whole numbers, got ${rows} x ${cols}`);
  }
  if (data.length !== rows * cols) {
    throw new Error(`a ${rows} x ${cols} matrix needs ${rows * cols} values, got ${data.length}`);
  }
  return { data, rows, cols };
}

/** A Matrix from an array of equal-length rows (for tests and small inputs). */
export function fromRows(rows: ReadonlyArray<ArrayLike<number>>): Matrix {
  const cols = rows.length ? rows[0].length : 0;
  const data = new Float64Array(rows.length * cols);
  rows.forEach((r, i) => {
    if (r.length !== cols) throw new Error(`row ${i} has ${r.length} values, row 0 has ${cols}`);
    for (let j = 0; j < cols; j++) data[i * cols + j] = r[j];
  });
  return { data, rows: rows.length, cols };
}

/** Squared Euclidean distance between row i of a and row j of b (both with `cols` columns). */
export function squaredDistance(
  a: ArrayLike<number>,
  i: number,
  b: ArrayLike<number>,
  j: number,
  cols: number,
): number {
  let s = 0;
  const oi = i * cols;
  const oj = j * cols;
  for (let c = 0; c < cols; c++) {
    const d = a[oi + c] - b[oj + c];
    s += d * d;
  }
  return s;
}

/** Rows `index` of m, in that order, as a new matrix. */
export function takeRows(m: Matrix, index: ArrayLike<number>): Matrix {
  const out = new Float64Array(index.length * m.cols);
  for (let r = 0; r < index.length; r++) {
    const o = index[r] * m.cols;
    for (let c = 0; c < m.cols; c++) out[r * m.cols + c] = m.data[o + c];
  }
  return { data: out, rows: index.length, cols: m.cols };
}
