import { useEffect, useRef, useState } from 'preact/hooks';
import { onStreamEvent, type StreamEvent } from './events';

export interface Live<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => void;
}

/**
 * Data loaded from the API and loaded again when the event stream says it changed (`affects`),
 * never on a timer. Events in a burst cause one reload a short moment after the first; a steady
 * stream of them, one reload per moment.
 */
export function useLive<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
  affects: (event: StreamEvent) => boolean,
  debounceMs = 200,
): Live<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [tick, setTick] = useState(0);
  const affectsRef = useRef(affects);
  affectsRef.current = affects;

  // The caller names what `load` depends on, as with useEffect itself.
  useEffect(() => {
    let current = true;
    load().then(
      (value) => {
        if (!current) return;
        setData(value);
        setError(undefined);
      },
      (failure: unknown) => {
        if (current) setError(failure instanceof Error ? failure.message : String(failure));
      },
    );
    return () => {
      current = false;
    };
  }, [...deps, tick]);

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const off = onStreamEvent((event) => {
      if (event.type !== 'reset' && !affectsRef.current(event)) return;
      timer ??= setTimeout(() => {
        timer = undefined;
        setTick((n) => n + 1);
      }, debounceMs);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, [debounceMs]);

  return { data, error, reload: () => setTick((n) => n + 1) };
}
