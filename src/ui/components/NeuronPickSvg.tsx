/**
 * The svg of a plot with one mark per neuron: hovering picks the neuron whose mark is nearest the pointer (if it
 * is near enough), leaving clears it, a click selects the hovered one. By default hover and selection are the
 * app-wide ones, linked across views; a plot of other neurons passes its own.
 */
import type * as d3 from 'd3';
import { type ReactNode, type RefObject, useRef } from 'react';
import { useStore } from '../../state/store';

/** Hovered neuron and what hovering and clicking change. */
export interface NeuronPick {
  hovered: number | null;
  hover(n: number | null): void;
  select(n: number | null): void;
}

/** Pointer position in the viewBox units of an svg whose viewBox is `0 0 width height`, however large it is drawn. */
function pointerInViewBox(
  e: { clientX: number; clientY: number },
  svg: SVGSVGElement,
  width: number,
  height: number,
): [number, number] {
  const box = svg.getBoundingClientRect();
  return [((e.clientX - box.left) / box.width) * width, ((e.clientY - box.top) / box.height) * height];
}

export function NeuronPickSvg({
  width,
  height,
  className,
  label,
  delaunay,
  at,
  radius,
  pick,
  svgRef,
  children,
}: {
  /** viewBox size: marks are placed in these units. */
  width: number;
  height: number;
  className: string;
  /** The svg's accessible name. */
  label: string;
  /** The marks by where they are drawn. */
  delaunay: d3.Delaunay<unknown>;
  /** Where mark i is drawn (a mark with a non-finite position is never picked). */
  at: (i: number) => readonly [number, number];
  /** Distance (viewBox units) within which the nearest mark i counts as hovered. */
  radius: number | ((i: number) => number);
  /** Hover and selection to use instead of the app-wide ones. */
  pick?: NeuronPick;
  /** For a plot that also draws into the svg with d3. */
  svgRef?: RefObject<SVGSVGElement | null>;
  children: ReactNode;
}) {
  const hovered = useStore((s) => s.hoveredNeuron);
  const hover = useStore((s) => s.hoverNeuron);
  const select = useStore((s) => s.selectNeuron);
  const { hovered: current, hover: setHovered, select: setSelected } = pick ?? { hovered, hover, select };
  const ownRef = useRef<SVGSVGElement>(null);
  const ref = svgRef ?? ownRef;
  return (
    <svg
      ref={ref}
      viewBox={`0 0 ${width} ${height}`}
      className={className}
      role="img"
      aria-label={label}
      onMouseMove={(e) => {
        const [px, py] = pointerInViewBox(e, ref.current!, width, height);
        const i = delaunay.find(px, py);
        const [mx, my] = at(i);
        setHovered(Math.hypot(mx - px, my - py) < (typeof radius === 'number' ? radius : radius(i)) ? i : null);
      }}
      onMouseLeave={() => setHovered(null)}
      onClick={() => setSelected(current)}
    >
      {children}
    </svg>
  );
}
