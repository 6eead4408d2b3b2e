/**
 * The core's first-layer filters as a grid of small heatmaps: diverging colors, each filter on its own
 * symmetric scale [-max|w|, +max|w|] so that weak filters still show their shape (the scale is in the title).
 * When the image is repeated to the filters' input channels (a greyscale image into an RGB network), the first
 * choice is their sum over the input channels: the filter the image actually meets.
 */
import { useMemo, useState } from 'react';
import type { FirstLayerFilters } from '../../../state/services/inspector_service';
import { Heatmap } from './Heatmap';
import { DIVERGING_LUT, divergingInterpolate, gradient, maxAbs } from './heatmap';

/** Sum over the input channels: (out, 1, kh, kw). */
function summedOverInputs(f: FirstLayerFilters): Float32Array {
  const per = f.kh * f.kw;
  const out = new Float32Array(f.count * per);
  for (let o = 0; o < f.count; o++)
    for (let i = 0; i < f.inChannels; i++)
      for (let p = 0; p < per; p++) out[o * per + p] += f.data[(o * f.inChannels + i) * per + p];
  return out;
}

export function FilterGrid({
  filters,
  repeatedInput = false,
}: {
  filters: FirstLayerFilters;
  repeatedInput?: boolean;
}) {
  const summable = repeatedInput && filters.inChannels > 1;
  // -1: the sum over the input channels (only when the image is repeated to them)
  const [input, setInput] = useState(summable ? -1 : 0);
  const summed = useMemo(() => (summable ? summedOverInputs(filters) : null), [filters, summable]);
  const sum = summed !== null && input < 0;
  const { count, kh, kw } = filters;
  const inChannels = sum ? 1 : filters.inChannels;
  const data = sum ? summed : filters.data;
  const channel = sum ? 0 : Math.min(Math.max(input, 0), inChannels - 1);
  const per = kh * kw;
  const limits = useMemo(
    () => Array.from({ length: count }, (_v, o) => maxAbs(data, (o * inChannels + channel) * per, per)),
    [data, count, inChannels, channel, per],
  );
  return (
    <div>
      <div className="core-legend small">
        <span>
          {count} filters, {kh}×{kw}
          {sum
            ? `, summed over the ${filters.inChannels} input channels (the greyscale image is repeated to them)`
            : filters.inChannels > 1
              ? `, input channel ${channel} of ${filters.inChannels}`
              : ', one input channel'}
        </span>
        <span className="nowrap">
          <span>−max|w|</span>
          <span className="bar" style={{ background: gradient(divergingInterpolate) }} />
          <span>+max|w|</span>
        </span>
        <span className="muted">per filter (hover a filter for its scale)</span>
        {filters.inChannels > 1 && (
          <label>
            input channel{' '}
            <select
              aria-label="Input channel of the filters"
              value={sum ? -1 : channel}
              onChange={(e) => setInput(Number(e.target.value))}
            >
              {summable && <option value={-1}>sum</option>}
              {Array.from({ length: filters.inChannels }, (_v, i) => (
                <option key={i} value={i}>
                  {i}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      <div className={`tile-grid filters${count % 16 === 0 ? ' by16' : ''}`} data-testid="core-filters">
        {limits.map((limit, o) => (
          <figure className="tile" key={o} title={`filter ${o}: weights within ±${limit.toPrecision(3)}`}>
            <Heatmap
              data={data}
              offset={(o * inChannels + channel) * per}
              height={kh}
              width={kw}
              lo={-limit}
              hi={limit}
              table={DIVERGING_LUT}
              label={`first-layer filter ${o}`}
              attrs={{ 'data-filter': o, 'data-limit': limit }}
            />
            <figcaption>{o}</figcaption>
          </figure>
        ))}
      </div>
    </div>
  );
}
