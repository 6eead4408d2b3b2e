/** One heatmap canvas (pixelated), with optional marks drawn over it at feature-pixel coordinates. */
import { type ReactNode, useEffect, useRef } from 'react';
import { type Lut, paintHeatmap } from './heatmap';

export interface HeatmapProps {
  data: ArrayLike<number>;
  offset: number;
  height: number;
  width: number;
  lo: number;
  hi: number;
  table: Lut;
  label: string;
  className?: string;
  /** Absolutely positioned children (e.g. a ring), placed in percent of the canvas. */
  children?: ReactNode;
  attrs?: Record<string, string | number>;
}

export function Heatmap({
  data,
  offset,
  height,
  width,
  lo,
  hi,
  table,
  label,
  className,
  children,
  attrs,
}: HeatmapProps) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (ref.current) paintHeatmap(ref.current, data, offset, height, width, lo, hi, table);
  }, [data, offset, height, width, lo, hi, table]);
  return (
    <div className={`heatmap ${className ?? ''}`} style={{ aspectRatio: `${width} / ${height}` }}>
      <canvas ref={ref} width={width} height={height} role="img" aria-label={label} {...attrs} />
      {children}
    </div>
  );
}

/**
 * A ring at pixel-centre coordinates (x, y) of a width x height map: pixel centres sit at (i + 0.5) / size.
 */
export function MapRing({
  x,
  y,
  width,
  height,
  title,
  className,
}: {
  x: number;
  y: number;
  width: number;
  height: number;
  title?: string;
  className?: string;
}) {
  return (
    <span
      className={`map-ring ${className ?? ''}`}
      style={{ left: `${((x + 0.5) / width) * 100}%`, top: `${((y + 0.5) / height) * 100}%` }}
      title={title}
    />
  );
}
