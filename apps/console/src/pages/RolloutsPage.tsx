import { useState } from 'preact/hooks';
import { api } from '../api';
import { Feedback, useSubmit } from '../Feedback';
import { SetSelect } from '../software/SetSelect';
import type { DistributionSet, Paged } from '../types';
import { useLive } from '../useLive';

interface PerStatus {
  scheduled: number;
  running: number;
  error: number;
  finished: number;
  cancelled: number;
  notstarted: number;
}

interface Rollout {
  id: number;
  name: string;
  status: string;
  targetFilterQuery: string;
  distributionSetId: number;
  totalTargets: number;
  totalTargetsPerStatus?: PerStatus;
}

interface Group {
  id: number;
  name: string;
  status: string;
  totalTargets: number;
  totalTargetsPerStatus?: PerStatus;
}

/** The operations a status allows, as hawkBit's rollout machine does. */
const OPERATIONS: Record<string, readonly string[]> = {
  ready: ['start', 'stop'],
  waiting_for_approval: ['approve', 'deny', 'stop'],
  starting: ['stop'],
  running: ['pause', 'triggerNextGroup', 'stop'],
  paused: ['resume', 'stop'],
};

const LABEL: Record<string, string> = {
  start: 'Start',
  approve: 'Approve',
  deny: 'Deny',
  pause: 'Pause',
  resume: 'Resume',
  stop: 'Stop',
  triggerNextGroup: 'Next group now',
};

async function loadRollouts() {
  const [rollouts, sets] = await Promise.all([
    api<Paged<Rollout>>('GET', '/rollouts?limit=50&sort=id:DESC&representation=full'),
    api<Paged<DistributionSet>>('GET', '/distributionsets?limit=100&sort=id:DESC&q=deleted==false'),
  ]);
  const groups = new Map<number, Group[]>();
  await Promise.all(
    rollouts.content.map(async (r) => {
      const page = await api<Paged<Group>>(
        'GET',
        `/rollouts/${r.id}/deploygroups?limit=500&representation=full`,
      );
      groups.set(r.id, page.content);
    }),
  );
  return { rollouts: rollouts.content, sets: sets.content, groups };
}

/** Done of a group or rollout: what ended, as the progress bar shows it. */
const doneOf = (c: PerStatus | undefined) => (c ? c.finished + c.error + c.cancelled : 0);

export function RolloutsPage() {
  // Groups move when actions do; every operation reloads at once too.
  const live = useLive(loadRollouts, [], (e) => e.type.startsWith('ACTION_'));
  const d = live.data;
  return (
    <section>
      <h1>Rollouts</h1>
      {live.error && (
        <p class="error" role="alert">
          {live.error}
        </p>
      )}
      {d && <CreateRollout sets={d.sets} onCreated={live.reload} />}
      {d?.rollouts.length === 0 && <p>No rollout yet.</p>}
      {d?.rollouts.map((r) => (
        <RolloutCard
          key={r.id}
          rollout={r}
          groups={d.groups.get(r.id) ?? []}
          onChanged={live.reload}
        />
      ))}
    </section>
  );
}

function RolloutCard(props: { rollout: Rollout; groups: Group[]; onChanged: () => void }) {
  const r = props.rollout;
  const [message, setMessage] = useState<{ ok: boolean; text: string }>();
  const operate = async (op: string) => {
    try {
      await api('POST', `/rollouts/${r.id}/${op}`);
      setMessage({ ok: true, text: `${LABEL[op] ?? op}: done.` });
    } catch (error) {
      setMessage({ ok: false, text: error instanceof Error ? error.message : String(error) });
    }
    props.onChanged();
  };
  return (
    <article class="panel" aria-labelledby={`rollout-${r.id}`} data-rollout={r.name}>
      <h2 id={`rollout-${r.id}`}>
        {r.name} <span class={`badge status-${r.status}`}>{r.status}</span>
      </h2>
      <p class="muted">
        {r.totalTargets} target(s) · filter <code>{r.targetFilterQuery}</code>
      </p>
      <fieldset class="row">
        <legend>Operations of {r.name}</legend>
        {(OPERATIONS[r.status] ?? []).map((op) => (
          <button key={op} type="button" onClick={() => operate(op)}>
            {LABEL[op] ?? op}
          </button>
        ))}
      </fieldset>
      <Feedback message={message} />
      <table class="list" aria-label={`Groups of ${r.name}`}>
        <thead>
          <tr>
            <th scope="col">Group</th>
            <th scope="col">Status</th>
            <th scope="col">Progress</th>
            <th scope="col">Finished / error / running / scheduled</th>
          </tr>
        </thead>
        <tbody>
          {props.groups.map((g) => {
            const c = g.totalTargetsPerStatus;
            return (
              <tr key={g.id} data-group={g.name}>
                <td>{g.name}</td>
                <td>{g.status}</td>
                <td>
                  <progress
                    max={Math.max(1, g.totalTargets)}
                    value={doneOf(c)}
                    aria-label={`${g.name}: ${doneOf(c)} of ${g.totalTargets} done`}
                  />
                </td>
                <td>{c ? `${c.finished} / ${c.error} / ${c.running} / ${c.scheduled}` : '–'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </article>
  );
}

function CreateRollout(props: { sets: DistributionSet[]; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [setId, setSetId] = useState<number | undefined>(props.sets[0]?.id);
  const [filter, setFilter] = useState('');
  const [groups, setGroups] = useState(2);
  const [success, setSuccess] = useState(100);
  const [error, setError] = useState(20);
  const chosen = setId ?? props.sets[0]?.id;
  const { message, submit } = useSubmit(async () => {
    if (chosen === undefined) throw new Error('Create a distribution set first.');
    const created = await api<Rollout>('POST', '/rollouts', {
      name,
      distributionSetId: chosen,
      targetFilterQuery: filter,
      amountGroups: groups,
      successCondition: { condition: 'THRESHOLD', expression: String(success) },
      errorCondition: { condition: 'THRESHOLD', expression: String(error) },
    });
    props.onCreated();
    return `Rollout ${created.name} created: ${created.totalTargets} target(s), ${created.status}.`;
  });
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="create-rollout">
      <h2 id="create-rollout">Create a rollout</h2>
      <div class="row">
        <label>
          Name
          <input
            name="rolloutName"
            required
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <SetSelect name="rolloutSet" sets={props.sets} value={chosen} onChange={setSetId} />
        <label>
          Target filter (RSQL)
          <input
            name="rolloutFilter"
            required
            value={filter}
            placeholder="controllerId==dev-*"
            onInput={(e) => setFilter(e.currentTarget.value)}
          />
        </label>
      </div>
      <div class="row">
        <label>
          Groups
          <input
            name="rolloutGroups"
            type="number"
            min={1}
            max={500}
            value={groups}
            onInput={(e) => setGroups(Number(e.currentTarget.value))}
          />
        </label>
        <label>
          Next group at (% finished)
          <input
            name="rolloutSuccess"
            type="number"
            min={1}
            max={100}
            value={success}
            onInput={(e) => setSuccess(Number(e.currentTarget.value))}
          />
        </label>
        <label>
          Pause above (% errors)
          <input
            name="rolloutError"
            type="number"
            min={0}
            max={100}
            value={error}
            onInput={(e) => setError(Number(e.currentTarget.value))}
          />
        </label>
      </div>
      <button type="submit">Create rollout</button>
      <Feedback message={message} />
    </form>
  );
}
