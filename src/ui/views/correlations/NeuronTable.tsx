/**
 * Per-neuron metrics as a sortable table. Only the rows in view are in the page (a Sensorium scan has ~8000
 * neurons), between two spacer rows that keep the scroll height; rows have a fixed height so nothing jumps.
 * Click a header to sort (again to reverse); click a row, or use the arrow keys in the table, to select.
 */
import { type KeyboardEvent, useEffect, useMemo, useRef, useState } from 'react';
import { type NeuronMetrics, type SortKey, sortedNeurons } from '../../../state/derived/neuron_metrics';
import { fmt, type NeuronFocus } from './neuron_focus';

const ROW = 26;
const VISIBLE = 12;
const OVERSCAN = 6;

const COLUMNS: Array<{ key: SortKey; label: string; title: string }> = [
  { key: 'neuron', label: 'neuron', title: 'index in the readout' },
  { key: 'unit', label: 'unit id', title: 'unit_ids of the scan' },
  { key: 'test', label: 'test corr.', title: 'single-trial correlation of prediction and response' },
  {
    key: 'average',
    label: 'corr. to avg.',
    title: 'correlation with the response averaged over repeats of each image',
  },
  { key: 'oracle', label: 'oracle', title: 'jackknife oracle correlation of the responses (needs repeated images)' },
  { key: 'fraction', label: 'fraction', title: 'test correlation / oracle' },
  { key: 'feve', label: 'FEVE', title: 'fraction of explainable variance explained' },
];

function cell(m: NeuronMetrics, key: SortKey, n: number): string {
  switch (key) {
    case 'neuron':
      return String(n);
    case 'unit':
      return m.unitIds ? String(m.unitIds[n]) : '—';
    case 'test':
      return fmt(m.testCorrelation[n]);
    case 'average':
      return fmt(m.correlationToAverage[n]);
    case 'oracle':
      return fmt(m.oracle?.[n]);
    case 'fraction':
      return fmt(m.fraction?.[n]);
    case 'feve':
      return fmt(m.feve?.[n]);
  }
}

export function NeuronTable({ metrics, focus }: { metrics: NeuronMetrics; focus: NeuronFocus }) {
  const [sort, setSort] = useState<{ key: SortKey; descending: boolean }>({ key: 'test', descending: true });
  const [scrollTop, setScrollTop] = useState(0);
  const box = useRef<HTMLDivElement>(null);
  const order = useMemo(() => sortedNeurons(metrics, sort.key, sort.descending), [metrics, sort]);
  const rank = useMemo(() => {
    const r = new Int32Array(order.length);
    order.forEach((n, i) => {
      r[n] = i;
    });
    return r;
  }, [order]);

  // A neuron selected elsewhere (a plot, another view) scrolls into the table's view.
  const selected = focus.selected;
  useEffect(() => {
    const el = box.current;
    if (!el || selected === null || selected >= rank.length) return;
    const top = rank[selected] * ROW;
    const header = ROW;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW > el.scrollTop + el.clientHeight - header) el.scrollTop = top + ROW - el.clientHeight + header;
  }, [selected, rank]);

  const first = Math.max(0, Math.floor(scrollTop / ROW) - OVERSCAN);
  const last = Math.min(order.length, Math.ceil(scrollTop / ROW) + VISIBLE + OVERSCAN);
  const rows = [];
  for (let i = first; i < last; i++) {
    const n = order[i];
    const cls = n === focus.selected ? 'row-selected' : n === focus.hovered ? 'row-hovered' : undefined;
    rows.push(
      <tr
        key={n}
        className={cls}
        aria-selected={n === focus.selected}
        onClick={() => focus.select(n)}
        onMouseEnter={() => focus.hover(n)}
        onMouseLeave={() => focus.hover(null)}
      >
        {COLUMNS.map((c) => (
          <td key={c.key}>{cell(metrics, c.key, n)}</td>
        ))}
      </tr>,
    );
  }

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const step = { ArrowDown: 1, ArrowUp: -1, PageDown: VISIBLE, PageUp: -VISIBLE }[e.key];
    if (step === undefined || order.length === 0) return;
    e.preventDefault();
    const at =
      focus.selected !== null && focus.selected < rank.length ? rank[focus.selected] : step > 0 ? -1 : order.length;
    focus.select(order[Math.min(order.length - 1, Math.max(0, at + step))]);
  };

  return (
    <div
      ref={box}
      className="vtable"
      style={{ height: ROW * (VISIBLE + 1) + 2 }}
      tabIndex={0}
      role="region"
      aria-label={`Per-neuron metrics of ${order.length} neurons; arrow keys move the selection`}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      onKeyDown={onKeyDown}
      data-testid="neuron-table"
    >
      <table className="table" aria-rowcount={order.length + 1}>
        <thead>
          <tr>
            {COLUMNS.map((c) => (
              <th
                key={c.key}
                aria-sort={sort.key === c.key ? (sort.descending ? 'descending' : 'ascending') : 'none'}
                title={c.title}
              >
                <button
                  type="button"
                  className="sort"
                  data-testid={`sort-${c.key}`}
                  onClick={() =>
                    setSort((s) => ({
                      key: c.key,
                      descending: s.key === c.key ? !s.descending : c.key !== 'neuron' && c.key !== 'unit',
                    }))
                  }
                >
                  {c.label}
                  {sort.key === c.key ? (sort.descending ? ' ▼' : ' ▲') : ''}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {first > 0 && (
            <tr className="spacer" style={{ height: first * ROW }} aria-hidden="true">
              <td colSpan={COLUMNS.length} />
            </tr>
          )}
          {rows}
          {last < order.length && (
            <tr className="spacer" style={{ height: (order.length - last) * ROW }} aria-hidden="true">
              <td colSpan={COLUMNS.length} />
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
