/**
 * Where the neuron reads: its readout position ringed on the stimulus (input pixels) and on one core feature
 * map for that image (by default the channel it weights most strongly), with the value the readout samples
 * there and that channel's contribution (weight x value) to the neuron's drive.
 */

import type { ImageSet } from '../../../state/derived/test_images';
import type { FeatureMaps } from '../../../state/services/inspector_service';
import { gridToFeaturePixel, sampleMap } from '../../../state/services/inspector_service';
import { useStimulusCanvas } from '../../components/stimulus';
import { Heatmap, MapRing } from '../core/Heatmap';
import { fmt, type Lut } from '../core/heatmap';

/** A box in input pixels (pixel centres at integers), inclusive: [x0, x1] x [y0, y1]. */
export interface PixelBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export function StimulusWithRing({
  images,
  index,
  px,
  py,
  label,
  extent,
}: {
  images: ImageSet;
  index: number;
  px: number;
  py: number;
  label: string;
  /** Where the feature map's pixels sit on the stimulus (drawn dashed). */
  extent?: PixelBox;
}) {
  const ref = useStimulusCanvas(images, index);
  const [, , h, w] = images.shape;
  return (
    <div className="stimulus-wrap">
      <canvas ref={ref} width={w} height={h} role="img" aria-label={label} />
      {extent && (
        <span
          className="map-extent"
          style={{
            left: `${((extent.x0 + 0.5) / w) * 100}%`,
            top: `${((extent.y0 + 0.5) / h) * 100}%`,
            width: `${((extent.x1 - extent.x0) / w) * 100}%`,
            height: `${((extent.y1 - extent.y0) / h) * 100}%`,
          }}
        />
      )}
      <MapRing x={px} y={py} width={w} height={h} />
    </div>
  );
}

/** What both "where" panels (Gaussian position, factorized mask) draw from: one image, its maps, one channel. */
export interface OnMapsProps {
  images: ImageSet;
  index: number;
  maps: FeatureMaps;
  table: Lut;
  channel: number;
  strongest: number;
  weight: number;
  /** Readout position, grid units (x, y). */
  grid: [number, number];
  /** The same position in input pixels (x, y). */
  pixel: [number, number];
  extent: PixelBox;
  onChannel(c: number): void;
}

/** The stimulus with the neuron's position ringed and the feature map's extent dashed, captioned. */
export function StimulusTile({
  images,
  index,
  pixel,
  extent,
}: Pick<OnMapsProps, 'images' | 'index' | 'pixel' | 'extent'>) {
  return (
    <figure className="tile">
      <StimulusWithRing
        images={images}
        index={index}
        px={pixel[0]}
        py={pixel[1]}
        label={`${images.labels[index]} with the neuron's position`}
        extent={extent}
      />
      <figcaption>
        {images.labels[index]}: ({pixel[0].toFixed(1)}, {pixel[1].toFixed(1)}) px; dashed: the feature map&apos;s extent
      </figcaption>
    </figure>
  );
}

/** One core feature map (the channel's own color range) with the position ringed at (fx, fy) map pixels. */
export function ChannelMapTile({
  maps,
  channel,
  table,
  fx,
  fy,
  caption,
}: Pick<OnMapsProps, 'maps' | 'channel' | 'table'> & { fx: number; fy: number; caption: string }) {
  const { height, width } = maps;
  return (
    <figure className="tile">
      <Heatmap
        data={maps.data}
        offset={channel * height * width}
        height={height}
        width={width}
        lo={maps.channelMin[channel]}
        hi={maps.channelMax[channel]}
        table={table}
        label={`core feature map ${channel} with the neuron's position`}
      >
        <MapRing x={fx} y={fy} width={width} height={height} />
      </Heatmap>
      <figcaption>{caption}</figcaption>
    </figure>
  );
}

/** The channel menu of both panels (the strongest-weighted channel marked). */
export function ChannelPicker({
  maps,
  channel,
  strongest,
  onChannel,
}: Pick<OnMapsProps, 'maps' | 'channel' | 'strongest' | 'onChannel'>) {
  return (
    <label>
      channel{' '}
      <select aria-label="Feature map channel" value={channel} onChange={(e) => onChannel(Number(e.target.value))}>
        {Array.from({ length: maps.channels }, (_v, c) => (
          <option key={c} value={c}>
            {c}
            {c === strongest ? ' (strongest)' : ''}
          </option>
        ))}
      </select>
    </label>
  );
}

export function PositionOnMaps({
  images,
  index,
  maps,
  table,
  channel,
  strongest,
  weight,
  grid,
  pixel,
  extent,
  onChannel,
}: OnMapsProps) {
  const { height, width } = maps;
  const [fx, fy] = gridToFeaturePixel(grid[0], grid[1], width, height);
  const value = sampleMap(maps, channel, grid[0], grid[1]);
  return (
    <div data-testid="inspector-position" data-channel={channel} data-sampled={value}>
      <div className="position-pair">
        <StimulusTile images={images} index={index} pixel={pixel} extent={extent} />
        <ChannelMapTile
          maps={maps}
          channel={channel}
          table={table}
          fx={fx}
          fy={fy}
          caption={`channel ${channel}: (${fx.toFixed(1)}, ${fy.toFixed(1)}) of ${width}×${height}`}
        />
      </div>
      <p className="small">
        <ChannelPicker maps={maps} channel={channel} strongest={strongest} onChannel={onChannel} /> weight{' '}
        {fmt(weight, 4)} × value here {fmt(value)} = <strong>{fmt(weight * value)}</strong>
        <span className="muted">
          {' '}
          (map scaled to its own {fmt(maps.channelMin[channel])} … {fmt(maps.channelMax[channel])}; click a bar above to
          show its channel)
        </span>
      </p>
    </div>
  );
}
