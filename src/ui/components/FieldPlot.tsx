/**
 * The frame the field views share: an SVG of the visual field in input pixels with the current stimulus as a
 * backdrop, the view's marks clipped to the frame, pixel axes, and hover / click on the nearest neuron linked
 * with every other view through the store.
 */
import * as d3 from 'd3';
import { type ReactNode, useId, useMemo } from 'react';
import type { ReadoutGeometry } from '../../state/derived/readout_geometry';
import { useStore } from '../../state/store';
import { type FieldLayout, FIELD_PLOT_MARGIN as M, FIELD_PLOT_WIDTH as WIDTH } from './field_layout';
import { NeuronPickSvg } from './NeuronPickSvg';
import { stimulusDataUrl } from './stimulus';

export interface FieldPlotProps {
  geometry: ReadoutGeometry;
  layout: FieldLayout;
  /** Class of the svg besides `plot`. */
  className: string;
  /** Class of the stimulus backdrop (its opacity differs between views). */
  stimulusClassName: string;
  showStimulus: boolean;
  /** The svg's accessible name. */
  label: string;
  /** Distance (viewBox units) within which neuron n, the nearest to the pointer, counts as hovered; default 10. */
  pickRadius?: number | ((n: number) => number);
  /** Marks over the stimulus, clipped to the frame. */
  children: ReactNode;
  /** Marks over everything but the axes, not clipped (e.g. rings that must show whole at the edge). */
  overlay?: ReactNode;
}

export function FieldPlot({
  geometry,
  layout,
  className,
  stimulusClassName,
  showStimulus,
  label,
  pickRadius = 10,
  children,
  overlay,
}: FieldPlotProps) {
  const images = useStore((s) => s.images);
  const imageIndex = useStore((s) => s.selectedImage);
  // Unique per plot: two field views can be on the page at once.
  const clipId = `field-clip${useId().replace(/[^\w-]/g, '')}`;

  const delaunay = useMemo(() => {
    const p = geometry.pixels;
    return d3.Delaunay.from(
      { length: geometry.neurons },
      (_v, n) => layout.x(p[2 * n]),
      (_v, n) => layout.y(p[2 * n + 1]),
    );
  }, [geometry, layout]);

  const stimulusUrl = useMemo(
    () => (images && showStimulus && imageIndex < images.shape[0] ? stimulusDataUrl(images, imageIndex) : null),
    [images, imageIndex, showStimulus],
  );

  const { x, y } = layout;
  const [ih, iw] = geometry.imageSize;
  return (
    <NeuronPickSvg
      width={WIDTH}
      height={layout.height}
      className={`plot ${className}`}
      label={label}
      delaunay={delaunay}
      at={(n) => [x(geometry.pixels[2 * n]), y(geometry.pixels[2 * n + 1])]}
      radius={pickRadius}
    >
      <defs>
        <clipPath id={clipId}>
          <rect x={M.left} y={M.top} width={layout.plotW} height={layout.plotH} />
        </clipPath>
      </defs>
      <rect x={M.left} y={M.top} width={layout.plotW} height={layout.plotH} className="rf-frame" />
      <g clipPath={`url(#${clipId})`}>
        {stimulusUrl && (
          <image
            href={stimulusUrl}
            x={x(-0.5)}
            y={y(-0.5)}
            width={x(iw - 0.5) - x(-0.5)}
            height={y(ih - 0.5) - y(-0.5)}
            preserveAspectRatio="none"
            className={stimulusClassName}
          />
        )}
        {children}
      </g>
      {overlay}
      <g
        className="axis"
        transform={`translate(0,${M.top + layout.plotH})`}
        ref={(g) => {
          if (g) d3.select(g).call(d3.axisBottom(x).ticks(8));
        }}
      />
      <g
        className="axis"
        transform={`translate(${M.left},0)`}
        ref={(g) => {
          if (g) d3.select(g).call(d3.axisLeft(y).ticks(4));
        }}
      />
      <text className="axis-label" x={M.left + layout.plotW / 2} y={layout.height - 2} textAnchor="middle">
        stimulus x (pixels)
      </text>
    </NeuronPickSvg>
  );
}
