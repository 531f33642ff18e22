// Timers and abort signals. withDeadline: a signal that aborts when `parent` does or when `ms`
// have passed, with a TimeoutError as AbortSignal.timeout would. Not AbortSignal.any +
// AbortSignal.timeout: on Node 20 the combined signal can be garbage-collected with its timer,
// and a request that hangs then never ends (seen here: a held long poll in the pull test stayed
// open past its deadline). pause: a wait that a stopping loop can cut short.

export interface Deadline extends AbortSignal {
  /** Stops the timer and lets go of `parent`; call it once the exchange is over. */
  clear(): void;
}

export function withDeadline(parent: AbortSignal | undefined, ms: number): Deadline {
  const controller = new AbortController();
  const onParent = () => controller.abort(parent!.reason);
  const timer = setTimeout(() => controller.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')), ms);
  if (parent?.aborted) onParent();
  else parent?.addEventListener('abort', onParent, { once: true });
  return Object.assign(controller.signal, {
    clear() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParent);
    },
  });
}

/** Waits `ms`, or less if `signal` aborts first (a loop that is stopping does not wait out its backoff). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
