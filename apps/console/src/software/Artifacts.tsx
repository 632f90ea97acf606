import { useState } from 'preact/hooks';
import { api, upload } from '../api';
import { Feedback, type Message } from '../Feedback';
import { bytes, errorText } from '../format';
import type { Artifact, SoftwareModule } from '../types';
import { useLive } from '../useLive';

/** A module's artifacts, and an upload with its progress (XMLHttpRequest reports it). */
export function Artifacts(props: { module: SoftwareModule }) {
  const path = `/softwaremodules/${props.module.id}/artifacts`;
  const list = useLive(
    () => api<Artifact[]>('GET', path),
    [path],
    () => false,
  );
  const [progress, setProgress] = useState<{ sent: number; total: number }>();
  const [message, setMessage] = useState<Message>();
  const label = `${props.module.name} ${props.module.version}`;
  const onFile = async (e: Event) => {
    const input = e.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    setMessage(undefined);
    setProgress({ sent: 0, total: file.size });
    try {
      const artifact = await upload<Artifact>(path, file, (sent, total) =>
        setProgress({ sent, total }),
      );
      setMessage({
        ok: true,
        text: `Uploaded ${artifact.providedFilename} (${bytes(artifact.size)}).`,
      });
      list.reload();
    } catch (error) {
      setMessage({ ok: false, text: errorText(error) });
    } finally {
      setProgress(undefined);
      input.value = '';
    }
  };
  return (
    <div class="artifacts">
      <ul>
        {list.data?.map((a) => (
          <li key={a.id}>
            {a.providedFilename} <span class="muted">{bytes(a.size)}</span>
          </li>
        ))}
      </ul>
      <label class="upload">
        Upload to {label}
        <input type="file" name="file" onChange={onFile} disabled={progress !== undefined} />
      </label>
      {progress && (
        <progress
          max={progress.total || 1}
          value={progress.sent}
          aria-label={`Uploading to ${label}`}
        >
          {Math.round((100 * progress.sent) / (progress.total || 1))}%
        </progress>
      )}
      <Feedback message={message} />
    </div>
  );
}
