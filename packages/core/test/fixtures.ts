import { type DomainEvent, MemoryUpdateStore, UpdateService } from '../src/index.js';

/**
 * A service over a memory store with a clock that ticks once per read, one software module and one
 * distribution set carrying it, and every domain event it emits collected.
 */
export async function serviceWithSet(
  options: { store?: MemoryUpdateStore; name?: string; version?: string } = {},
) {
  let now = 1_000;
  const store = options.store ?? new MemoryUpdateStore();
  const service = new UpdateService({ store, clock: () => now++ });
  const events: DomainEvent[] = [];
  service.onEvent((e) => {
    events.push(e);
  });
  const name = options.name ?? 'fw';
  const version = options.version ?? '1';
  const module = await service.createSoftwareModule({ type: 'os', name, version });
  const set = await service.createDistributionSet({ name, version, modules: [module.id] });
  return { service, store, events, module, set };
}
