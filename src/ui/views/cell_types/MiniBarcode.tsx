/** A small barcode: one signed bar per channel, for legends and the focus line (the inspector has the large one). */
import { divergingInterpolate } from '../core/heatmap';

export function MiniBarcode({
  weights,
  width = 84,
  height = 18,
  label,
}: {
  weights: ArrayLike<number>;
  width?: number;
  height?: number;
  label: string;
}) {
  const C = weights.length;
  let limit = 1e-12;
  for (let c = 0; c < C; c++) limit = Math.max(limit, Math.abs(weights[c]));
  const w = width / C;
  const mid = height / 2;
  return (
    <svg
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={label}
      className="mini-barcode"
    >
      <line x1={0} x2={width} y1={mid} y2={mid} stroke="#c4c9d0" strokeWidth={0.5} />
      {Array.from({ length: C }, (_v, c) => {
        const v = weights[c] / limit;
        const h = Math.max(0.5, Math.abs(v) * (mid - 0.5));
        return (
          <rect
            key={c}
            x={c * w + 0.1 * w}
            width={Math.max(0.6, 0.8 * w)}
            y={v < 0 ? mid : mid - h}
            height={h}
            fill={divergingInterpolate(0.5 + 0.45 * v)}
          />
        );
      })}
    </svg>
  );
}
