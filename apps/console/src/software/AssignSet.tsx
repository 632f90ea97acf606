import { useState } from 'preact/hooks';
import { api } from '../api';
import { Feedback, useSubmit } from '../Feedback';
import type { AssignmentResult, DistributionSet, Paged, Target } from '../types';
import { SetSelect } from './SetSelect';

/** Every controller id a filter matches, a page at a time (hawkBit's quota is 5,000 per assignment). */
async function targetsOf(filter: string): Promise<string[]> {
  const ids: string[] = [];
  for (let offset = 0; ; offset += 500) {
    const page = await api<Paged<Target>>(
      'GET',
      `/targets?offset=${offset}&limit=500&sort=controllerId:ASC&q=${encodeURIComponent(filter)}`,
    );
    ids.push(...page.content.map((t) => t.controllerId));
    if (page.content.length === 0 || ids.length >= page.total) return ids;
  }
}

export function AssignSet(props: { sets: DistributionSet[] }) {
  const [setId, setSetId] = useState<number | undefined>(props.sets[0]?.id);
  const [mode, setMode] = useState<'ids' | 'filter'>('ids');
  const [targets, setTargets] = useState('');
  const [forceType, setForceType] = useState('forced');
  const chosenSet = setId ?? props.sets[0]?.id;
  const { message, submit } = useSubmit(async () => {
    if (chosenSet === undefined) throw new Error('Create a set first.');
    const ids =
      mode === 'ids' ? targets.split(/[\s,]+/).filter(Boolean) : await targetsOf(targets.trim());
    if (ids.length === 0) throw new Error('No target to assign to.');
    const result = await api<AssignmentResult>(
      'POST',
      `/distributionsets/${chosenSet}/assignedTargets`,
      ids.map((id) => ({ id, type: forceType })),
    );
    return `Assigned to ${result.assigned} target(s); ${result.alreadyAssigned} had it already.`;
  });
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="assign-set">
      <h3 id="assign-set">Assign a set</h3>
      <div class="row">
        <SetSelect name="assignSet" sets={props.sets} value={chosenSet} onChange={setSetId} />
        <label>
          Targets by
          <select
            name="assignMode"
            value={mode}
            onChange={(e) => setMode(e.currentTarget.value as 'ids' | 'filter')}
          >
            <option value="ids">controller ids</option>
            <option value="filter">RSQL filter</option>
          </select>
        </label>
        <label>
          Type
          <select
            name="forceType"
            value={forceType}
            onChange={(e) => setForceType(e.currentTarget.value)}
          >
            <option value="forced">forced</option>
            <option value="soft">soft</option>
            <option value="downloadonly">download only</option>
          </select>
        </label>
      </div>
      <label>
        {mode === 'ids' ? 'Controller ids (comma or space separated)' : 'Filter (RSQL)'}
        <input
          name="assignTargets"
          value={targets}
          required
          placeholder={mode === 'ids' ? 'dev-1, dev-2' : 'updateStatus==in_sync;channel==ddi'}
          onInput={(e) => setTargets(e.currentTarget.value)}
        />
      </label>
      <button type="submit" disabled={chosenSet === undefined}>
        Assign
      </button>
      <Feedback message={message} />
    </form>
  );
}
