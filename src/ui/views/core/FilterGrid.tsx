/**
 * The core's first-layer filters as a grid of small heatmaps: diverging colors, each filter on its own
 * symmetric scale [-max|w|, +max|w|] so that weak filters still show their shape (the scale is in the title).
 */
import { useMemo, useState } from 'react';
import type { FirstLayerFilters } from '../../../state/services/inspector_service';
import { Heatmap } from './Heatmap';
import { DIVERGING_LUT, divergingInterpolate, gradient, maxAbs } from './heatmap';

export function FilterGrid({ filters }: { filters: FirstLayerFilters }) {
  const { count, inChannels, kh, kw, data } = filters;
  const [input, setInput] = useState(0);
  const channel = Math.min(input, inChannels - 1);
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
          {inChannels > 1 ? `, input channel ${channel} of ${inChannels}` : ', one input channel'}
        </span>
        <span className="nowrap">
          <span>−max|w|</span>
          <span className="bar" style={{ background: gradient(divergingInterpolate) }} />
          <span>+max|w|</span>
        </span>
        <span className="muted">per filter (hover a filter for its scale)</span>
        {inChannels > 1 && (
          <label>
            input channel{' '}
            <select
              aria-label="Input channel of the filters"
              value={channel}
              onChange={(e) => setInput(Number(e.target.value))}
            >
              {Array.from({ length: inChannels }, (_v, i) => (
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
