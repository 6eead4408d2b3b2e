/**
 * A promise's result as React state: the latest call wins (a slower earlier result never overwrites a newer
 * one), and a null factory clears it. Used by views that ask a service for something computed on the model.
 */
import { useEffect, useState } from 'react';

export interface AsyncState<T> {
  value: T | null;
  error: string | null;
  loading: boolean;
}

/**
 * `keepPrevious`: while a new result is computed, keep showing the last one (no layout jump when stepping
 * through images; the value should say what it is for). Otherwise the value is cleared as soon as deps change.
 */
export function useAsync<T>(
  factory: (() => Promise<T>) | null,
  deps: readonly unknown[],
  opts: { keepPrevious?: boolean } = {},
): AsyncState<T> {
  const [state, setState] = useState<AsyncState<T>>({ value: null, error: null, loading: false });
  useEffect(() => {
    if (!factory) {
      setState({ value: null, error: null, loading: false });
      return;
    }
    let current = true;
    setState((s) => ({ value: opts.keepPrevious ? s.value : null, error: null, loading: true }));
    let promise: Promise<T>;
    try {
      promise = factory();
    } catch (err) {
      setState({ value: null, error: err instanceof Error ? err.message : String(err), loading: false });
      return;
    }
    promise.then(
      (value) => {
        if (current) setState({ value, error: null, loading: false });
      },
      (err: unknown) => {
        if (current) setState({ value: null, error: err instanceof Error ? err.message : String(err), loading: false });
      },
    );
    return () => {
      current = false;
    };
    // The caller lists what the factory depends on, as for useEffect.
    // biome-ignore lint/correctness/useExhaustiveDependencies: the caller's deps list is the dependency list
  }, deps);
  return state;
}
