import { actionMachine } from '@otaflow/core';
import { api } from '../api';
import { when } from '../format';
import { Link } from '../Link';
import { MachineGraph } from '../machine/MachineGraph';
import { graphOf, type StateNodeLike, walkOf } from '../machine/machineGraph';
import { StatusBadge } from '../StatusBadge';
import type { Action, Paged, StatusEntry } from '../types';
import { useLive } from '../useLive';

/** Read once: the machine core runs, drawn from its definition. */
const GRAPH = graphOf(actionMachine.root as unknown as StateNodeLike);

export function ActionPage(props: { controllerId: string; actionId: number }) {
  const { controllerId, actionId } = props;
  const path = `/targets/${encodeURIComponent(controllerId)}/actions/${actionId}`;
  const live = useLive(
    async () => {
      const [action, status] = await Promise.all([
        api<Action>('GET', path),
        // Oldest first: the history in the order it happened.
        api<Paged<StatusEntry>>('GET', `${path}/status?limit=500&sort=id:ASC`),
      ]);
      return { action, status };
    },
    [path],
    (event) => 'actionId' in event && event.actionId === actionId,
  );
  const d = live.data;
  const walk =
    d &&
    walkOf(
      GRAPH,
      d.status.content.map((e) => e.type),
      d.action,
    );
  return (
    <section>
      <p class="crumbs">
        <Link to="/targets">Targets</Link> /{' '}
        <Link to={`/targets/${encodeURIComponent(controllerId)}`}>{controllerId}</Link> / action #
        {actionId}
      </p>
      <h1>
        Action #{actionId} {d && <StatusBadge status={d.action.status} />}
      </h1>
      {live.error && (
        <p class="error" role="alert">
          {live.error}
        </p>
      )}
      {d && walk && (
        <>
          <dl class="facts inline">
            <dt>Set</dt>
            <dd>{d.action._links?.distributionset?.name?.replace(':', ' ') ?? '—'}</dd>
            <dt>Type</dt>
            <dd>{d.action.type}</dd>
            <dt>Force type</dt>
            <dd>{d.action.forceType}</dd>
            <dt>Active</dt>
            <dd>{d.action.active ? 'yes' : 'no'}</dd>
            <dt>Created</dt>
            <dd>{when(d.action.createdAt)}</dd>
            {d.action.lastStatusCode !== undefined && (
              <>
                <dt>Last status code</dt>
                <dd>{d.action.lastStatusCode}</dd>
              </>
            )}
          </dl>
          <h2>State machine</h2>
          <p class="hint">
            Core's action machine; the path this action took is highlighted, its current state is{' '}
            <strong data-testid="current-state">{walk.states.at(-1)}</strong>.
          </p>
          <div class="graph">
            <MachineGraph graph={GRAPH} walk={walk} title={`Action #${actionId} state machine`} />
          </div>
          <h2>Status history</h2>
          <table class="list" aria-label="Status history">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Status</th>
                <th scope="col">Reported</th>
                <th scope="col">Code</th>
                <th scope="col">Messages</th>
              </tr>
            </thead>
            <tbody>
              {d.status.content.map((e) => (
                <tr key={e.id}>
                  <td>{e.id}</td>
                  <td>
                    <StatusBadge status={e.type} />
                  </td>
                  <td>{when(e.reportedAt)}</td>
                  <td>{e.code ?? ''}</td>
                  <td>{e.messages.join(' · ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
