/**
 * Jackknife oracle correlation, neuralpredictors' `oracle_corr_jackknife`: every trial of a repeated image is
 * correlated with the mean of the other repeats of that image (leave-one-out), over all repeated trials, per
 * neuron. It estimates how well the best possible (noise-free) predictor could do on single trials, and is a
 * slight underestimate.
 *
 * Images shown only once have no "other repeats"; neuralpredictors would turn their 0/0 into a 0 oracle
 * prediction, which only biases the number, so they are left out here (on a test tier every image is repeated).
 */
import { correlationPerNeuron, type Values } from './correlation';
import { type RepeatGroup, repeatedGroups } from './repeats';

export function oracleJackknife(responses: Values, neurons: number, groups: RepeatGroup[]): Float64Array {
  const reps = repeatedGroups(groups);
  const count = reps.reduce((s, g) => s + g.trials.length, 0);
  if (count === 0) return new Float64Array(neurons).fill(NaN);
  const observed = new Float64Array(count * neurons);
  const loo = new Float64Array(count * neurons);
  const sum = new Float64Array(neurons);
  let row = 0;
  for (const g of reps) {
    sum.fill(0);
    for (const t of g.trials) for (let n = 0; n < neurons; n++) sum[n] += responses[t * neurons + n];
    const k = g.trials.length;
    for (const t of g.trials) {
      const src = t * neurons;
      const dst = row * neurons;
      for (let n = 0; n < neurons; n++) {
        const x = responses[src + n];
        observed[dst + n] = x;
        loo[dst + n] = (sum[n] - x) / (k - 1);
      }
      row++;
    }
  }
  return correlationPerNeuron(observed, loo, neurons);
}
