import { api } from '../api';
import { Artifacts } from '../software/Artifacts';
import { AssignSet } from '../software/AssignSet';
import { CreateModule } from '../software/CreateModule';
import { CreateSet } from '../software/CreateSet';
import type { DistributionSet, Paged, SoftwareModule, TypeEntry } from '../types';
import { useLive } from '../useLive';

async function loadCatalogue() {
  const [modules, sets, moduleTypes, setTypes] = await Promise.all([
    api<Paged<SoftwareModule>>('GET', '/softwaremodules?limit=100&sort=id:DESC'),
    api<Paged<DistributionSet>>('GET', '/distributionsets?limit=100&sort=id:DESC'),
    api<Paged<TypeEntry>>('GET', '/softwaremoduletypes'),
    api<Paged<TypeEntry>>('GET', '/distributionsettypes'),
  ]);
  return { modules, sets, moduleTypes, setTypes };
}

export function SoftwarePage() {
  // The catalogue has no domain events of its own; forms reload it after they change it.
  const live = useLive(loadCatalogue, [], () => false);
  const d = live.data;
  return (
    <section>
      <h1>Software</h1>
      {live.error && (
        <p class="error" role="alert">
          {live.error}
        </p>
      )}
      {d && (
        <div class="columns">
          <div>
            <h2>Software modules</h2>
            <CreateModule types={d.moduleTypes.content} onCreated={live.reload} />
            <table class="list" aria-label="Software modules">
              <thead>
                <tr>
                  <th scope="col">Module</th>
                  <th scope="col">Type</th>
                  <th scope="col">Artifacts</th>
                </tr>
              </thead>
              <tbody>
                {d.modules.content.map((m) => (
                  <tr key={m.id} data-module={`${m.name}:${m.version}`}>
                    <td>
                      {m.name} <span class="muted">{m.version}</span>
                    </td>
                    <td>{m.typeName ?? m.type}</td>
                    <td>
                      <Artifacts module={m} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div>
            <h2>Distribution sets</h2>
            <CreateSet
              types={d.setTypes.content}
              modules={d.modules.content}
              onCreated={live.reload}
            />
            <AssignSet sets={d.sets.content} />
            <table class="list" aria-label="Distribution sets">
              <thead>
                <tr>
                  <th scope="col">Set</th>
                  <th scope="col">Type</th>
                  <th scope="col">Modules</th>
                </tr>
              </thead>
              <tbody>
                {d.sets.content.map((s) => (
                  <tr key={s.id}>
                    <td>
                      {s.name} <span class="muted">{s.version}</span>
                    </td>
                    <td>{s.type}</td>
                    <td>{s.modules.map((m) => `${m.name} ${m.version}`).join(', ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </section>
  );
}
