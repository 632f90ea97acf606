import { type AnyActorScope, createEmptyActor } from 'xstate';

/**
 * The actor scope every pure transition of the core runs in. xstate's `transition()` and
 * `initialTransition()` build a whole actor per call, and that actor computes an initial snapshot
 * without input, which our context factories cannot do: the thrown and caught error cost more
 * than the transition itself (60% of the benchmark). Our machines execute no actions of their
 * own (only `assign`), spawn and emit nothing, so one scope of no-ops serves every call.
 */
export function createInertScope(): AnyActorScope {
  const self = createEmptyActor();
  return {
    self,
    id: '',
    sessionId: '',
    logger: () => {},
    defer: () => {},
    emit: () => {},
    system: self.system,
    stopChild: () => {},
    actionExecutor: () => {},
  };
}
