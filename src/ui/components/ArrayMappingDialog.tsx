/**
 * Which array is which, for a scan given as plain arrays: the proposal made from the shapes, one menu per part,
 * the train/validation split when there are no tiers; the user confirms or changes it. Errors from building the
 * scan (they name the array's file) show here and keep the dialog open.
 */
import { useState } from 'react';
import { ARRAY_ROLES, type ArrayMapping, type ArrayRole } from '../../io/arrays';
import { useStore } from '../../state/store';

/** One part per line: its name and expected shape, the menu below at full width (the sidebar is narrow). */
const FIELD = { display: 'flex', flexDirection: 'column', gap: 2, marginBottom: 6 } as const;
const WIDE = { width: '100%' } as const;

export function ArrayMappingDialog() {
  const pending = useStore((s) => s.arrayMapping);
  const confirm = useStore((s) => s.confirmArrayMapping);
  const cancel = useStore((s) => s.cancelArrayMapping);
  if (!pending) return null;
  // keyed by the arrays so a new selection starts from its own proposal
  return <MappingForm key={pending.arrays.map((a) => a.name).join('|')} onConfirm={confirm} onCancel={cancel} />;
}

function MappingForm({
  onConfirm,
  onCancel,
}: {
  onConfirm: (m: ArrayMapping, split: { validationFraction: number; seed: number }) => Promise<void>;
  onCancel: () => void;
}) {
  const pending = useStore((s) => s.arrayMapping)!;
  const [mapping, setMapping] = useState<Partial<ArrayMapping>>(pending.proposal.mapping ?? {});
  const [fraction, setFraction] = useState(String(pending.defaultSplit.validationFraction));
  const [seed, setSeed] = useState(String(pending.defaultSplit.seed));
  const describe = (name: string) => {
    const a = pending.arrays.find((x) => x.name === name)!;
    return `${name} (${a.shape.join('×') || 'scalar'} ${a.dtype})`;
  };
  const f = Number(fraction);
  const s = Number(seed);
  const splitOk = f >= 0 && f < 1 && Number.isInteger(s);
  const ready = mapping.images && mapping.responses && (mapping.tiers || splitOk) && !pending.busy;
  const set = (role: ArrayRole, value: string) =>
    setMapping((m) => {
      const next = { ...m };
      if (value) next[role] = value;
      else delete next[role];
      return next;
    });
  return (
    <div className="panel" role="dialog" aria-labelledby="array-mapping-title" data-testid="array-mapping">
      <h3 id="array-mapping-title">Which array is which?</h3>
      <p className="small muted">
        {pending.arrays.length} arrays read for the scan <strong>{pending.name}</strong>. Proposed from their shapes;
        change what is wrong. N trials, M test images shown R times.
      </p>
      <ul className="notes small" data-testid="array-notes">
        {pending.proposal.notes.map((n) => (
          <li key={n}>{n}</li>
        ))}
      </ul>
      <div className="small">
        {ARRAY_ROLES.map(({ role, label, shape, required }) => (
          <label key={role} style={FIELD}>
            <span>
              <strong>
                {label}
                {required ? ' *' : ''}
              </strong>{' '}
              <span className="muted">{shape}</span>
            </span>
            <select
              data-testid={`array-role-${role}`}
              style={WIDE}
              value={mapping[role] ?? ''}
              onChange={(e) => set(role, e.target.value)}
            >
              <option value="">{required ? '(choose)' : '(none)'}</option>
              {pending.arrays.map((a) => (
                <option key={a.name} value={a.name}>
                  {describe(a.name)}
                </option>
              ))}
            </select>
          </label>
        ))}
        {!mapping.tiers && (
          <div className="row">
            <label style={FIELD}>
              <span>
                <strong>validation share</strong> <span className="muted">of the images, seeded</span>
              </span>
              <input
                data-testid="array-validation-fraction"
                type="number"
                min={0}
                max={0.9}
                step={0.05}
                value={fraction}
                onChange={(e) => setFraction(e.target.value)}
              />
            </label>
            <label style={FIELD}>
              <strong>split seed</strong>
              <input
                data-testid="array-seed"
                type="number"
                step={1}
                value={seed}
                onChange={(e) => setSeed(e.target.value)}
              />
            </label>
          </div>
        )}
      </div>
      {pending.error && (
        <p className="error small" role="alert" data-testid="array-error">
          {pending.error}
        </p>
      )}
      <div className="row">
        <button
          type="button"
          className="button"
          data-testid="array-confirm"
          disabled={!ready}
          onClick={() => void onConfirm(mapping as ArrayMapping, { validationFraction: f, seed: s })}
        >
          {pending.busy ? 'Loading…' : 'Load scan'}
        </button>
        <button type="button" className="button button-secondary" data-testid="array-cancel" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}
