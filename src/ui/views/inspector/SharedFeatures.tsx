/**
 * A neuron whose readout shares its features across scans (neuralpredictors' share_features): which shared vector
 * it reads, with what scale, and the neurons of the other scans' readouts (its matches) that read the same vector.
 * The barcode above already shows its own features, scale times the shared vector.
 */
import type { SharedFeatureLinks } from '../../../state/services/inspector_service';

export function SharedFeatures({ links }: { links: SharedFeatureLinks }) {
  return (
    <p className="small" data-testid="inspector-shared">
      Shared features: it reads vector {links.vector} of the {links.matches} that readout &apos;{links.source}&apos;
      holds, at scale {links.scale.toFixed(3)}.{' '}
      {links.others.length === 0
        ? 'No other neuron reads this vector.'
        : `The same vector (its matched neurons): ${links.others
            .map(
              (o) =>
                `readout '${o.readout}' neuron${o.neurons.length > 1 ? 's' : ''} ${o.neurons
                  .map((n, i) => `${n} (scale ${o.scales[i].toFixed(3)})`)
                  .join(', ')}`,
            )
            .join('; ')}.`}
    </p>
  );
}
