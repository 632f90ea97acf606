/** The few hawkBit Management API calls the demo makes, as any hawkBit script would make them. */
export class ManagementClient {
  readonly #base: string;
  readonly #auth: string;

  constructor(baseUrl: string, user = 'admin', password = 'admin') {
    this.#base = baseUrl.replace(/\/+$/, '');
    this.#auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = {
      method,
      headers: {
        Authorization: this.#auth,
        Accept: 'application/json',
        ...(body !== undefined && !(body instanceof FormData)
          ? { 'Content-Type': 'application/json' }
          : {}),
      },
    };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) init.body = JSON.stringify(body);
    const res = await fetch(`${this.#base}${path}`, init);
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  createTargets(targets: { controllerId: string; name?: string; channel?: string }[]) {
    return this.#call<{ controllerId: string }[]>('POST', '/targets', targets);
  }

  listTargets() {
    return this.#call<{ content: TargetJson[]; total: number }>('GET', '/targets?limit=500');
  }

  async createModule(name: string, version: string, type = 'os'): Promise<number> {
    const [module] = await this.#call<{ id: number }[]>('POST', '/softwaremodules', [
      { name, version, type },
    ]);
    if (!module) throw new Error('no software module created');
    return module.id;
  }

  uploadArtifact(moduleId: number, filename: string, bytes: Uint8Array) {
    const form = new FormData();
    form.append('file', new Blob([bytes]), filename);
    return this.#call<{ id: number; size: number; hashes: Record<string, string> }>(
      'POST',
      `/softwaremodules/${moduleId}/artifacts`,
      form,
    );
  }

  async createDistributionSet(name: string, version: string, moduleId: number): Promise<number> {
    const [set] = await this.#call<{ id: number }[]>('POST', '/distributionsets', [
      { name, version, type: 'os', modules: [{ id: moduleId }] },
    ]);
    if (!set) throw new Error('no distribution set created');
    return set.id;
  }

  assign(setId: number, targets: { id: string; type: string; confirmationRequired?: boolean }[]) {
    return this.#call<{ assigned: number; assignedActions: { id: number }[] }>(
      'POST',
      `/distributionsets/${setId}/assignedTargets`,
      targets,
    );
  }

  async latestAction(controllerId: string): Promise<ActionJson | undefined> {
    const page = await this.#call<{ content: ActionJson[] }>(
      'GET',
      `/targets/${encodeURIComponent(controllerId)}/actions?limit=1`,
    );
    return page.content[0];
  }

  async createRollout(body: Record<string, unknown>): Promise<number> {
    const created = await this.#call<{ id: number }>('POST', '/rollouts', body);
    return created.id;
  }

  rolloutOperation(id: number, operation: 'start' | 'resume') {
    return this.#call<void>('POST', `/rollouts/${id}/${operation}`);
  }

  getRollout(id: number) {
    return this.#call<RolloutJson>('GET', `/rollouts/${id}`);
  }

  async rolloutGroups(id: number): Promise<RolloutGroupJson[]> {
    const page = await this.#call<{ content: RolloutGroupJson[] }>(
      'GET',
      `/rollouts/${id}/deploygroups?representation=full&limit=500`,
    );
    return page.content;
  }

  cancelAction(controllerId: string, actionId: number) {
    return this.#call<void>(
      'DELETE',
      `/targets/${encodeURIComponent(controllerId)}/actions/${actionId}`,
    );
  }
}

export interface TargetJson {
  controllerId: string;
  updateStatus: string;
  channel?: string;
}

/** hawkBit's per-status counts of a rollout or a group. */
export interface TargetsPerStatus {
  scheduled: number;
  running: number;
  error: number;
  finished: number;
  cancelled: number;
  notstarted: number;
}

export interface RolloutJson {
  id: number;
  name: string;
  status: string;
  totalTargets: number;
  totalTargetsPerStatus: TargetsPerStatus;
}

export interface RolloutGroupJson {
  id: number;
  name: string;
  status: string;
  totalTargets: number;
  totalTargetsPerStatus: TargetsPerStatus;
}

export interface ActionJson {
  id: number;
  active: boolean;
  status: string;
}
