import {
  type DomainEvent,
  type MachineTransition,
  MemoryUpdateStore,
  UpdateService,
} from '../src/index.js';

/**
 * A service over a memory store with a clock that ticks once per read, one software module and two
 * distribution sets carrying it (`set`, and `set2` for a second assignment), and every domain event
 * and machine transition it emits collected.
 */
export async function serviceWithSet(
  options: {
    store?: MemoryUpdateStore;
    maxHistory?: number;
    name?: string;
    version?: string;
    secondVersion?: string;
    outbox?: { channels: readonly string[] };
  } = {},
) {
  let now = 1_000;
  const store = options.store ?? new MemoryUpdateStore();
  const transitions: MachineTransition[] = [];
  const service = new UpdateService({
    store,
    clock: () => now++,
    onTransition: (t) => transitions.push(t),
    ...(options.maxHistory === undefined ? {} : { maxHistory: options.maxHistory }),
    ...(options.outbox === undefined ? {} : { outbox: options.outbox }),
  });
  const events: DomainEvent[] = [];
  service.onEvent((e) => {
    events.push(e);
  });
  const name = options.name ?? 'fw';
  const version = options.version ?? '1';
  const module = await service.createSoftwareModule({ type: 'os', name, version });
  const set = await service.createDistributionSet({ name, version, modules: [module.id] });
  const set2 = await service.createDistributionSet({
    name,
    version: options.secondVersion ?? `${version}.1`,
    modules: [module.id],
  });
  return { service, store, events, transitions, module, set, set2 };
}
