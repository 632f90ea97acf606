import { api } from '../api';
import { Feedback, useSubmit } from '../Feedback';
import { NameVersionTypeFields, useNameVersionType } from '../NameVersionType';
import type { TypeEntry } from '../types';

export function CreateModule(props: { types: TypeEntry[]; onCreated: () => void }) {
  const fields = useNameVersionType(props.types);
  const { message, submit } = useSubmit(async () => {
    const { name, version, type } = fields;
    await api('POST', '/softwaremodules', [{ name, version, type }]);
    fields.clear();
    props.onCreated();
    return `Module ${name} ${version} created.`;
  });
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="create-module">
      <h3 id="create-module">Create a module</h3>
      <NameVersionTypeFields prefix="module" fields={fields} />
      <button type="submit">Create module</button>
      <Feedback message={message} />
    </form>
  );
}
