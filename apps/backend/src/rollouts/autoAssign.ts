import {
  type AssignTargetInput,
  type FilterNode,
  type Logger,
  TARGET_FILTERS,
  type TargetFilterRecord,
  type UpdateService,
} from '@otaflow/core';
import { targetListNames } from '../management/fields.js';
import { compatibleTargets } from '../management/typeCatalogue.js';
import { storeFilter } from '../query.js';

const PAGE = 500;

/**
 * Gives every target a filter matches the filter's auto-assigned set, once: a target that has
 * (or had) an action of that set is left alone, so a failure or a cancel is not retried behind
 * the operator's back (hawkBit's rule). Candidates are found in the store: the filter, ANDed with
 * "neither assigned nor installed"; only they are checked one by one.
 */
export async function runAutoAssignments(service: UpdateService, logger: Logger): Promise<number> {
  let assigned = 0;
  const filters = service.collection(TARGET_FILTERS);
  const withSet: FilterNode = {
    kind: 'cmp',
    field: 'autoAssignDistributionSetId',
    op: '>',
    values: ['0'],
  };
  for (let offset = 0; ; offset += PAGE) {
    const page = await filters.list({ filter: withSet, offset, limit: PAGE });
    for (const filter of page.items) {
      try {
        assigned += await autoAssign(service, filter);
      } catch (err) {
        logger.warn({ err, filterId: filter.id }, 'auto-assignment failed; tried again next round');
      }
    }
    if (page.items.length < PAGE) return assigned;
  }
}

async function autoAssign(service: UpdateService, filter: TargetFilterRecord): Promise<number> {
  const auto = filter.autoAssign;
  if (!auto) return 0;
  const set = await service.getDistributionSet(auto.distributionSetId);
  if (!set) return 0;
  const id = String(set.id);
  const compatible = await compatibleTargets(service, set);
  const candidates: FilterNode = {
    kind: 'and',
    nodes: [
      storeFilter(filter.query, targetListNames),
      ...(compatible ? [compatible] : []),
      { kind: 'cmp', field: 'assignedDistributionSetId', op: '!=', values: [id] },
      { kind: 'cmp', field: 'installedDistributionSetId', op: '!=', values: [id] },
    ],
  };
  const inputs: AssignTargetInput[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await service.listTargets({ filter: candidates, offset, limit: PAGE });
    const had = await Promise.all(
      page.items.map(async (t) => {
        const actions: FilterNode = {
          kind: 'and',
          nodes: [
            { kind: 'cmp', field: 'controllerId', op: '==', values: [t.controllerId] },
            { kind: 'cmp', field: 'distributionSetId', op: '==', values: [id] },
          ],
        };
        return (await service.pageActions({ filter: actions, limit: 0 })).total > 0;
      }),
    );
    page.items.forEach((t, i) => {
      if (had[i]) return;
      inputs.push({
        controllerId: t.controllerId,
        type: auto.actionType,
        confirmationRequired: auto.confirmationRequired,
        ...(auto.weight !== undefined ? { weight: auto.weight } : {}),
      });
    });
    if (page.items.length < PAGE) break;
  }
  if (inputs.length > 0) await service.assign(set.id, inputs);
  return inputs.length;
}
