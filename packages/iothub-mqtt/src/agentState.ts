import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { IotHubError } from './IotHubError.js';
import {
  DependencyDescription,
  OperationStatus,
  SoftwareUpdateAction,
} from './softwareUpdatable.js';

/** What a device must remember across a restart: the operation in flight, and what is installed. */
export const AgentState = z.object({
  operation: z
    .object({
      kind: z.enum(['install', 'download']),
      request: SoftwareUpdateAction,
      /** Where it stood when last saved; a restart in `installing` asks the installer what happened. */
      phase: z.enum(['downloading', 'installing']),
      lastOperation: OperationStatus,
    })
    .optional(),
  installedDependencies: z.record(z.string(), DependencyDescription).default({}),
});
export type AgentState = z.infer<typeof AgentState>;

/** Pluggable persistence of the agent's state (a file by default; a key-value store on a device). */
export interface AgentStateStore {
  load(): Promise<AgentState | undefined>;
  save(state: AgentState): Promise<void>;
}

export class MemoryAgentStateStore implements AgentStateStore {
  #state: AgentState | undefined;
  async load() {
    return this.#state && structuredClone(this.#state);
  }
  async save(state: AgentState) {
    this.#state = structuredClone(state);
  }
}

/** One JSON file, replaced atomically (write then rename) so a crash never leaves half a state. */
export class FileAgentStateStore implements AgentStateStore {
  constructor(readonly path: string) {}

  async load(): Promise<AgentState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new IotHubError('STATE_STORE', `cannot read ${this.path}: ${(error as Error).message}`);
    }
    const parsed = AgentState.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new IotHubError('STATE_STORE', `invalid state in ${this.path}`, parsed.error.issues);
    return parsed.data;
  }

  async save(state: AgentState): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(state));
    await rename(tmp, this.path);
  }

  async remove(): Promise<void> {
    await rm(this.path, { force: true });
  }
}
