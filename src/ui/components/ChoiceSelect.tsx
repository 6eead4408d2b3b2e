/**
 * A labelled select over a fixed set of string choices (the Training view's Σ, positions, loss and output menus):
 * one component so every such menu has the same markup, keyboard behaviour and typing of its value.
 */
import type { ReactNode } from 'react';

export interface ChoiceSelectProps<T extends string> {
  label: ReactNode;
  value: T;
  choices: readonly (readonly [T, string])[];
  onChange(value: T): void;
  testId?: string;
  hidden?: boolean;
}

export function ChoiceSelect<T extends string>(p: ChoiceSelectProps<T>) {
  return (
    <label hidden={p.hidden}>
      {p.label}
      <select data-testid={p.testId} value={p.value} onChange={(e) => p.onChange(e.target.value as T)}>
        {p.choices.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}
