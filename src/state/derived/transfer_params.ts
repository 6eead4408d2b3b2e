/**
 * Readout parameter counts for n neurons on a core with c channels and a w x h feature map (the seeds' talk,
 * issue 6): why the Gaussian readout, and sharing its positions through a retinotopic network, need far fewer
 * parameters per neuron than a fully connected or factorized readout. Formulas as the issue gives them.
 */
import type { PositionNetworkSpec } from '../../model/architecture';

export interface ParamCountInput {
  neurons: number;
  channels: number;
  width: number;
  height: number;
  /** The loaded readout's cortex-to-visual-field network, or null when its positions are free per neuron. */
  positionNetwork: PositionNetworkSpec | null;
}

export interface ParamCountRow {
  id: 'fully-connected' | 'factorized' | 'gaussian' | 'gaussian-retinotopy';
  readout: string;
  formula: string;
  /** null when the loaded readout has no position network to count. */
  parameters: number | null;
  /** What the terms mean (a tooltip). */
  explanation: string;
}

/** Weights and biases of the position network's Linear layers (nn.Linear always has a bias there). */
export function positionNetworkParameters(net: PositionNetworkSpec): number {
  return net.linears.reduce((sum, l) => sum + l.inFeatures * l.outFeatures + l.outFeatures, 0);
}

export function readoutParameterCounts({
  neurons: n,
  channels: c,
  width: w,
  height: h,
  positionNetwork,
}: ParamCountInput): ParamCountRow[] {
  for (const [name, v] of Object.entries({ neurons: n, channels: c, width: w, height: h })) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  }
  const p = positionNetwork ? positionNetworkParameters(positionNetwork) : null;
  return [
    {
      id: 'fully-connected',
      readout: 'Fully connected',
      formula: 'n·c·w·h',
      parameters: n * c * w * h,
      explanation: 'one weight per neuron for every channel at every position of the feature map',
    },
    {
      id: 'factorized',
      readout: 'Factorized',
      formula: 'n·(c + w·h)',
      parameters: n * (c + w * h),
      explanation: 'per neuron: a spatial mask (w·h) times a feature vector (c)',
    },
    {
      id: 'gaussian',
      readout: 'Gaussian',
      formula: 'n·(c + 7)',
      parameters: n * (c + 7),
      explanation:
        "per neuron: c feature weights, 1 bias, 2 for the Gaussian's mean (position) and 4 for its 2x2 covariance Sigma",
    },
    {
      id: 'gaussian-retinotopy',
      readout: 'Gaussian + retinotopy',
      formula: 'n·c + 5 + position network',
      parameters: p === null ? null : n * c + 5 + p,
      explanation:
        'per neuron only the c feature weights; the means come from the shared position network (cortical coordinates -> visual field), ' +
        "and 5 = 1 bias + 4 for Sigma as counted by the talk's formula (this app's readout keeps bias and Sigma per neuron, n·(c + 5) + position network)" +
        (positionNetwork
          ? `; the position network here: ${positionNetwork.linears.map((l) => `${l.inFeatures}->${l.outFeatures}`).join(', ')} Linear layers, ${p} parameters`
          : '; this readout has no position network'),
    },
  ];
}
