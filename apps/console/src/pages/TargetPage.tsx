import { api } from '../api';
import { when } from '../format';
import { Link } from '../Link';
import { StatusBadge } from '../StatusBadge';
import type { Action, DistributionSet, Paged, Target } from '../types';
import { useLive } from '../useLive';

interface TargetDetails {
  target: Target;
  attributes: Record<string, string>;
  assigned: DistributionSet | undefined;
  installed: DistributionSet | undefined;
  actions: Paged<Action>;
}

/** An RSQL value in double quotes, for ids with characters RSQL reserves. */
function rsqlString(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

async function loadTarget(id: string): Promise<TargetDetails> {
  const path = `/targets/${encodeURIComponent(id)}`;
  const [target, attributes, assigned, installed, actions] = await Promise.all([
    api<Target>('GET', path),
    api<Record<string, string> | undefined>('GET', `${path}/attributes`),
    api<DistributionSet | undefined>('GET', `${path}/assignedDS`),
    api<DistributionSet | undefined>('GET', `${path}/installedDS`),
    // The tenant-wide list has `representation=full`: each action names its set.
    api<Paged<Action>>(
      'GET',
      `/actions?q=${encodeURIComponent(`target.controllerId==${rsqlString(id)}`)}&representation=full&sort=id:DESC&limit=50`,
    ),
  ]);
  return { target, attributes: attributes ?? {}, assigned, installed, actions };
}

export function TargetPage(props: { controllerId: string }) {
  const id = props.controllerId;
  const live = useLive(
    () => loadTarget(id),
    [id],
    (event) => 'controllerId' in event && event.controllerId === id,
  );
  const d = live.data;
  return (
    <section>
      <p class="crumbs">
        <Link to="/targets">Targets</Link> / {id}
      </p>
      <h1>
        Target {id} {d && <StatusBadge status={d.target.updateStatus} />}
      </h1>
      {live.error && (
        <p class="error" role="alert">
          {live.error}
        </p>
      )}
      {d && (
        <div class="columns">
          <div>
            <h2>Details</h2>
            <dl class="facts">
              <dt>Name</dt>
              <dd>{d.target.name}</dd>
              <dt>Update status</dt>
              <dd data-testid="target-status">{d.target.updateStatus}</dd>
              <dt>Channel</dt>
              <dd>{d.target.channel ?? '—'}</dd>
              <dt>Address</dt>
              <dd>{d.target.address ?? d.target.ipAddress ?? '—'}</dd>
              <dt>Last poll</dt>
              <dd>{when(d.target.lastControllerRequestAt)}</dd>
              <dt>Assigned set</dt>
              <dd>{d.assigned ? `${d.assigned.name} ${d.assigned.version}` : '—'}</dd>
              <dt>Installed set</dt>
              <dd>{d.installed ? `${d.installed.name} ${d.installed.version}` : '—'}</dd>
            </dl>
            <h2>Attributes</h2>
            {Object.keys(d.attributes).length === 0 ? (
              <p>The device has reported none.</p>
            ) : (
              <table class="list" aria-label="Attributes">
                <tbody>
                  {Object.entries(d.attributes).map(([k, v]) => (
                    <tr key={k}>
                      <th scope="row">{k}</th>
                      <td>{v}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
          <div>
            <h2>Actions</h2>
            {d.actions.content.length === 0 ? (
              <p>No actions yet.</p>
            ) : (
              <table class="list" aria-label="Actions">
                <thead>
                  <tr>
                    <th scope="col">Action</th>
                    <th scope="col">Set</th>
                    <th scope="col">Status</th>
                    <th scope="col">Active</th>
                    <th scope="col">Changed</th>
                  </tr>
                </thead>
                <tbody>
                  {d.actions.content.map((a) => (
                    <tr key={a.id}>
                      <td>
                        <Link to={`/targets/${encodeURIComponent(id)}/actions/${a.id}`}>
                          #{a.id}
                        </Link>
                      </td>
                      <td>{a._links?.distributionset?.name?.replace(':', ' ') ?? '—'}</td>
                      <td>
                        <StatusBadge status={a.status} />
                      </td>
                      <td>{a.active ? 'yes' : 'no'}</td>
                      <td>{when(a.lastModifiedAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        </div>
      )}
    </section>
  );
}
