/**
 * The core's output for one image as small multiples, one heatmap per channel (sequential color map, each
 * channel on its own range or all on the shared range). The selected neuron's readout position is ringed on
 * every map and its most strongly weighted channels are named in bold. Click a map to enlarge it.
 */
import { useMemo } from 'react';
import type { FeatureMaps } from '../../../state/services/inspector_service';
import { Heatmap, MapRing } from './Heatmap';
import { fmt, type Lut } from './heatmap';

export type MapScale = 'channel' | 'shared';

export interface NeuronMark {
  neuron: number;
  /** Feature-map pixel coordinates (column, row) of its readout position. */
  x: number;
  y: number;
  /** Channels with the largest |weight|, strongest first. */
  strong: number[];
}

export function FeatureMapGrid({
  maps,
  table,
  scale,
  focused,
  onFocus,
  mark,
}: {
  maps: FeatureMaps;
  table: Lut;
  scale: MapScale;
  focused: number | null;
  onFocus(c: number | null): void;
  mark: NeuronMark | null;
}) {
  const { channels, height, width, data } = maps;
  const per = height * width;
  const strong = useMemo(() => new Set(mark?.strong ?? []), [mark]);
  return (
    <div className={`tile-grid maps${channels % 8 === 0 ? ' by8' : ''}`} data-testid="core-maps">
      {Array.from({ length: channels }, (_v, c) => {
        const lo = scale === 'shared' ? maps.min : maps.channelMin[c];
        const hi = scale === 'shared' ? maps.max : maps.channelMax[c];
        const cls = `tile${focused === c ? ' focused' : ''}${strong.has(c) ? ' strong' : ''}`;
        return (
          <figure className={cls} key={c}>
            <button
              type="button"
              aria-pressed={focused === c}
              aria-label={`channel ${c}, values ${fmt(maps.channelMin[c])} to ${fmt(maps.channelMax[c])}; enlarge`}
              title={`channel ${c}: ${fmt(maps.channelMin[c])} … ${fmt(maps.channelMax[c])}`}
              onClick={() => onFocus(focused === c ? null : c)}
            >
              <Heatmap
                data={data}
                offset={c * per}
                height={height}
                width={width}
                lo={lo}
                hi={hi}
                table={table}
                label={`feature map ${c}`}
                attrs={{ 'data-channel': c }}
              >
                {mark && <MapRing x={mark.x} y={mark.y} width={width} height={height} className="small" />}
              </Heatmap>
            </button>
            <figcaption>
              {c}
              {strong.has(c) ? ` · #${mark!.strong.indexOf(c) + 1}` : ''}
            </figcaption>
          </figure>
        );
      })}
    </div>
  );
}
