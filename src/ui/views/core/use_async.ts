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

export function useAsync<T>(factory: (() => Promise<T>) | null, deps: readonly unknown[]): AsyncState<T> {
  const [state, setState] = useState<AsyncState<T>>({ value: null, error: null, loading: false });
  useEffect(() => {
    if (!factory) {
      setState({ value: null, error: null, loading: false });
      return;
    }
    let current = true;
    setState((s) => ({ value: s.value, error: null, loading: true }));
    let promise: Promise<T>;
    try {
      promise = factory();
    } catch (err) {
      setState({ value: null, error: err instanceof Error ? err.message : String(err), loading: false });
      return;
    }
    promise.then(
      (value) => { if (current) setState({ value, error: null, loading: false }); },
      (err: unknown) => { if (current) setState({ value: null, error: err instanceof Error ? err.message : String(err), loading: false }); },
    );
    return () => { current = false; };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return state;
}
