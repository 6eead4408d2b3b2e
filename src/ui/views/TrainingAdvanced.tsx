/**
 * The Training view's "Advanced" section: every readout and dataset setting of a neuralpredictors / Lurz 2020 config
 * that applies to fine-tuning (init_mu_range, init_sigma, the position network's input_dimensions, hidden_layers,
 * hidden_features and final_tanh, the dataset's exclude images and normalization switch), each showing the loaded
 * config's value until the user changes it (state/slices/training_slice.ts: configDefaults, trainingPlan).
 */
import type { AdvancedSettings, TrainingPlan, TrainingSettings } from '../../state/slices/training_slice';

const NUMBERS: Array<{ key: keyof AdvancedSettings; label: string; step: number; min: number; max?: number }> = [
  { key: 'initMuRange', label: 'init_mu_range', step: 0.05, min: 0.01, max: 1 },
  { key: 'initSigma', label: 'init_sigma', step: 0.05, min: 0.01 },
  { key: 'inputDimensions', label: 'position network input_dimensions', step: 1, min: 1, max: 3 },
  { key: 'hiddenLayers', label: 'position network hidden_layers', step: 1, min: 0 },
  { key: 'hiddenFeatures', label: 'position network hidden_features', step: 1, min: 0 },
];

export function TrainingAdvanced(props: {
  settings: TrainingSettings;
  plan: TrainingPlan;
  defaults: AdvancedSettings;
  onChange(patch: Partial<TrainingSettings>): void;
}) {
  const { settings, plan, defaults, onChange } = props;
  const a = plan.advanced;
  const set = (patch: Partial<AdvancedSettings>) => onChange({ advanced: { ...settings.advanced, ...patch } });
  const changed = Object.keys(settings.advanced).length > 0;
  const network = plan.positions === 'network' && settings.readoutType === 'gaussian';
  return (
    <details className="small" data-testid="train-advanced">
      <summary>Advanced (readout and dataset settings of the loaded config)</summary>
      <div className="settings">
        {NUMBERS.map((f) => {
          const disabled =
            settings.readoutType !== 'gaussian' ||
            (f.key !== 'initSigma' && f.key !== 'initMuRange' && !network) ||
            (f.key === 'initMuRange' && network) ||
            (f.key === 'hiddenFeatures' && a.hiddenLayers === 0);
          return (
            <label key={f.key} title={`the loaded config's value: ${defaults[f.key]}`}>
              {f.label}
              <input
                type="number"
                step={f.step}
                min={f.min}
                max={f.max}
                disabled={disabled}
                data-testid={`train-adv-${f.key}`}
                value={a[f.key] as number}
                onChange={(e) => {
                  const v = Number(e.target.value);
                  if (Number.isFinite(v) && v >= f.min && (f.max === undefined || v <= f.max)) set({ [f.key]: v });
                }}
              />
            </label>
          );
        })}
        <label>
          <span>
            <input
              type="checkbox"
              style={{ width: 'auto', margin: '0 0.35rem 0 0' }}
              data-testid="train-adv-finalTanh"
              disabled={!network}
              checked={a.finalTanh}
              onChange={(e) => set({ finalTanh: e.target.checked })}
            />
            final_tanh (position network)
          </span>
        </label>
        <label title="the dataset config's exclude: ['images'] (a core trained on raw images, as Lurz 2020's)">
          <span>
            <input
              type="checkbox"
              style={{ width: 'auto', margin: '0 0.35rem 0 0' }}
              data-testid="train-adv-excludeImages"
              checked={a.excludeImages}
              disabled={!a.normalize}
              onChange={(e) => set({ excludeImages: e.target.checked })}
            />
            raw images (exclude images)
          </span>
        </label>
        <label title="the dataset config's normalize: off leaves images and responses as recorded">
          <span>
            <input
              type="checkbox"
              style={{ width: 'auto', margin: '0 0.35rem 0 0' }}
              data-testid="train-adv-normalize"
              checked={a.normalize}
              onChange={(e) => set({ normalize: e.target.checked })}
            />
            normalize (images and responses)
          </span>
        </label>
      </div>
      <p className="muted">
        {changed ? (
          <button
            type="button"
            className="button-quiet link"
            data-testid="train-adv-reset"
            onClick={() => onChange({ advanced: {} })}
          >
            back to the loaded config&apos;s values
          </button>
        ) : (
          'These are the loaded config\u2019s values (the Sensorium 2022 defaults for keys it lacks).'
        )}
        {settings.readoutType === 'gaussian' &&
          (network ? ' init_mu_range applies to free positions only.' : ' The position network is not used.')}
      </p>
    </details>
  );
}
