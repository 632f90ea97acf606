import { useState } from 'preact/hooks';
import { api } from '../api';
import { Feedback, useSubmit } from '../Feedback';
import { NameVersionTypeFields, useNameVersionType } from '../NameVersionType';
import type { SoftwareModule, TypeEntry } from '../types';

export function CreateSet(props: {
  types: TypeEntry[];
  modules: SoftwareModule[];
  onCreated: () => void;
}) {
  const fields = useNameVersionType(props.types);
  const [chosen, setChosen] = useState<number[]>([]);
  const { message, submit } = useSubmit(async () => {
    const { name, version, type } = fields;
    await api('POST', '/distributionsets', [
      { name, version, type, modules: chosen.map((id) => ({ id })) },
    ]);
    fields.clear();
    setChosen([]);
    props.onCreated();
    return `Set ${name} ${version} created.`;
  });
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="create-set">
      <h3 id="create-set">Create a set</h3>
      <NameVersionTypeFields prefix="set" fields={fields} />
      <fieldset>
        <legend>Modules</legend>
        {props.modules.length === 0 && <p>Create a module first.</p>}
        {props.modules.map((m) => (
          <label key={m.id} class="check">
            <input
              type="checkbox"
              checked={chosen.includes(m.id)}
              onChange={(e) =>
                setChosen(
                  e.currentTarget.checked ? [...chosen, m.id] : chosen.filter((id) => id !== m.id),
                )
              }
            />
            {m.name} {m.version} ({m.type})
          </label>
        ))}
      </fieldset>
      <button type="submit">Create set</button>
      <Feedback message={message} />
    </form>
  );
}
