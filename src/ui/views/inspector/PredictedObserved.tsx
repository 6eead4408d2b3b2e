/**
 * Predicted against recorded responses of one neuron on the scan's test images: one point per image at
 * (prediction, mean over its repeats), a bar of ± one standard deviation over the repeats, the identity line,
 * and the neuron's metrics beside the population's means.
 */
import * as d3 from 'd3';
import { useMemo } from 'react';
import type { NeuronTestResponses, ScanTestComparison } from '../../../state/services/inspector_service';
import { PlotAxes } from '../../components/PlotAxes';
import { fmt } from '../core/heatmap';

const WIDTH = 380;
const HEIGHT = 300;
const M = { top: 10, right: 12, bottom: 36, left: 48 };

export function PredictedObserved({
  cmp,
  r,
  neuron,
}: {
  cmp: ScanTestComparison;
  r: NeuronTestResponses;
  neuron: number;
}) {
  const { x, y } = useMemo(() => {
    let hi = 0;
    let lo = 0;
    r.predicted.forEach((p, i) => {
      hi = Math.max(hi, p, r.observedMean[i]);
      lo = Math.min(lo, p, r.observedMean[i]);
    });
    // One domain for both axes, so the identity line is the diagonal; fitted to the points, the SD bars are
    // clipped at the frame rather than squeezing the points into a corner.
    const domain: [number, number] = [lo, hi > lo ? lo + (hi - lo) * 1.05 : lo + 1];
    return {
      x: d3
        .scaleLinear()
        .domain(domain)
        .nice()
        .range([M.left, WIDTH - M.right]),
      y: d3
        .scaleLinear()
        .domain(domain)
        .nice()
        .range([HEIGHT - M.bottom, M.top]),
    };
  }, [r]);
  const p = cmp.perNeuron;
  const s = cmp.summary;
  const [d0, d1] = x.domain();
  return (
    <div
      data-testid="pred-obs"
      data-neuron={neuron}
      data-corr-avg={p.correlationToAverage[neuron]}
      data-test-corr={p.testCorrelation[neuron]}
      data-mean-corr-avg={s.correlation_to_average ?? ''}
      data-mean-test-corr={s.test_correlation ?? ''}
      data-images={cmp.groups.length}
    >
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        className="plot scatter"
        role="img"
        aria-label={`Predicted versus recorded responses of neuron ${neuron} on ${cmp.groups.length} test images`}
        style={{ maxWidth: 460 }}
      >
        <PlotAxes
          x={x}
          y={y}
          width={WIDTH}
          height={HEIGHT}
          margin={M}
          xLabel="predicted response"
          yLabel="recorded, mean over repeats ± SD"
        />
        <defs>
          <clipPath id="pred-obs-clip">
            <rect x={M.left} y={M.top} width={WIDTH - M.left - M.right} height={HEIGHT - M.top - M.bottom} />
          </clipPath>
        </defs>
        <line className="identity" x1={x(d0)} y1={y(d0)} x2={x(d1)} y2={y(d1)} />
        <g clipPath="url(#pred-obs-clip)">
          {Array.from(r.predicted, (v, i) => (
            <line
              key={`e${i}`}
              className="err"
              x1={x(v)}
              x2={x(v)}
              y1={y(r.observedMean[i] - r.observedStd[i])}
              y2={y(r.observedMean[i] + r.observedStd[i])}
            />
          ))}
        </g>
        {Array.from(r.predicted, (v, i) => (
          <circle key={i} className="pt" cx={x(v)} cy={y(r.observedMean[i])} r={3.2}>
            <title>
              {cmp.images.labels[i]}: predicted {v.toFixed(3)}, recorded {r.observedMean[i].toFixed(3)} ±{' '}
              {r.observedStd[i].toFixed(3)} ({r.repeats[i]} repeats)
            </title>
          </circle>
        ))}
      </svg>
      <div className="stat-row small">
        <span>
          correlation to the average: <strong data-testid="pred-obs-corr">{fmt(p.correlationToAverage[neuron])}</strong>
        </span>
        <span>single-trial: {fmt(p.testCorrelation[neuron])}</span>
        {p.oracle && <span>oracle: {fmt(p.oracle[neuron])}</span>}
      </div>
      <p className="muted small">
        All {cmp.neurons.toLocaleString('en-US')} neurons: mean correlation to the average{' '}
        {s.correlation_to_average === null ? '–' : fmt(s.correlation_to_average)}, single-trial{' '}
        {s.test_correlation === null ? '–' : fmt(s.test_correlation)}
        {s.oracle !== null && <>, oracle {fmt(s.oracle)}</>}; {cmp.groups.length} test images,{' '}
        {s.trials.toLocaleString('en-US')} trials ({(cmp.milliseconds / 1000).toFixed(1)} s to predict).
      </p>
    </div>
  );
}
