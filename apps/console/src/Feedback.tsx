import { useState } from 'preact/hooks';
import { errorText } from './format';

export type Message = { ok: boolean; text: string } | undefined;

/** A form's outcome: a success said politely, a failure announced at once. */
export function Feedback(props: { message: Message }) {
  if (!props.message) return null;
  return (
    <p class={props.message.ok ? 'ok' : 'error'} role={props.message.ok ? 'status' : 'alert'}>
      {props.message.text}
    </p>
  );
}

/**
 * A form's submit handler and its outcome: `work` does the change and says what it did, or
 * throws, and the message shows either.
 */
export function useSubmit(work: () => Promise<string>) {
  const [message, setMessage] = useState<Message>();
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      setMessage({ ok: true, text: await work() });
    } catch (error) {
      setMessage({ ok: false, text: errorText(error) });
    }
  };
  return { message, setMessage, submit };
}
