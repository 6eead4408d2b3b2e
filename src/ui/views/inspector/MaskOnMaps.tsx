/**
 * Where a factorized readout's neuron reads ("where", Klindt et al. 2017): its spatial mask as a small heat map on
 * the core's output map (signed weights, diverging colors, its position ringed), the stimulus with that position,
 * and one core feature map for the selected image with what the neuron takes from that channel: the map weighted
 * by the mask and summed, times the neuron's weight for the channel.
 */

import type { FactorizedMasks } from '../../../state/derived/readout_geometry';
import { gridToFeaturePixel, maskedSum } from '../../../state/services/inspector_service';
import { Heatmap, MapRing } from '../core/Heatmap';
import { DIVERGING_LUT, fmt } from '../core/heatmap';
import { ChannelMapTile, ChannelPicker, type OnMapsProps, StimulusTile } from './PositionOnMaps';

/** The mask alone, for the inspector's "where" block (no feature maps needed). */
export function MaskHeatmap({
  masks,
  neuron,
  grid,
  positionLabel,
}: {
  masks: FactorizedMasks;
  neuron: number;
  /** The neuron's position (grid units): its mask's peak or centre of mass. */
  grid: [number, number];
  positionLabel: string;
}) {
  const { height: H, width: W, geometry: g } = masks;
  const limit = Math.max(masks.maxAbs[neuron], 1e-12);
  const [fx, fy] = gridToFeaturePixel(grid[0], grid[1], W, H);
  return (
    <figure className="tile mask-tile">
      <Heatmap
        data={masks.masks}
        offset={neuron * H * W}
        height={H}
        width={W}
        lo={-limit}
        hi={limit}
        table={DIVERGING_LUT}
        label={`spatial mask of neuron ${neuron}, ${W} by ${H}, signed weights`}
        attrs={{
          'data-testid': 'inspector-mask',
          'data-neuron': neuron,
          'data-max': limit,
          'data-half-max-pixels': g.halfMaxPixels[neuron],
          'data-fx': fx,
          'data-fy': fy,
        }}
      >
        <MapRing x={fx} y={fy} width={W} height={H} title={positionLabel} />
      </Heatmap>
      <figcaption>
        mask {W}×{H}: |weight| up to {fmt(limit, 4)}; {g.halfMaxPixels[neuron]} pixels above half of it; ring:{' '}
        {positionLabel} ({fx.toFixed(1)}, {fy.toFixed(1)})
      </figcaption>
    </figure>
  );
}

export function MaskOnMaps({
  images,
  index,
  maps,
  table,
  channel,
  strongest,
  weight,
  masks,
  neuron,
  grid,
  pixel,
  extent,
  positionLabel,
  onChannel,
}: OnMapsProps & {
  masks: FactorizedMasks;
  neuron: number;
  positionLabel: string;
}) {
  const { height, width } = maps;
  const [fx, fy] = gridToFeaturePixel(grid[0], grid[1], width, height);
  const value = maskedSum(maps, channel, masks.masks, neuron * height * width);
  return (
    <div data-testid="inspector-position" data-channel={channel} data-sampled={value} data-kind="factorized">
      <div className="position-pair mask-triple">
        <MaskHeatmap masks={masks} neuron={neuron} grid={grid} positionLabel={positionLabel} />
        <StimulusTile images={images} index={index} pixel={pixel} extent={extent} />
        <ChannelMapTile
          maps={maps}
          channel={channel}
          table={table}
          fx={fx}
          fy={fy}
          caption={`channel ${channel} of ${width}×${height}`}
        />
      </div>
      <p className="small">
        <ChannelPicker maps={maps} channel={channel} strongest={strongest} onChannel={onChannel} /> weight{' '}
        {fmt(weight, 4)} × map under the mask (Σ mask · map) {fmt(value)} = <strong>{fmt(weight * value)}</strong>
        <span className="muted">
          {' '}
          (map scaled to its own {fmt(maps.channelMin[channel])} … {fmt(maps.channelMax[channel])}; mask: blue negative,
          red positive)
        </span>
      </p>
    </div>
  );
}
