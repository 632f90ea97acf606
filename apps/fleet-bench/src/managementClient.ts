import { FleetBenchError } from './FleetBenchError.js';

/** The handful of hawkBit Management API calls a campaign needs, with undici's global fetch. */
export class ManagementClient {
  readonly #base: string;
  readonly #auth: string;

  constructor(baseUrl: string, user = 'admin', password = 'admin') {
    this.#base = baseUrl.replace(/\/+$/, '');
    this.#auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {
      Authorization: this.#auth,
      Accept: 'application/json',
    };
    let payload: string | FormData | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    const res = await fetch(`${this.#base}${path}`, {
      method,
      headers,
      ...(payload !== undefined ? { body: payload } : {}),
    });
    const text = await res.text();
    if (!res.ok)
      throw new FleetBenchError(
        'MANAGEMENT_API',
        `${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`,
      );
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async createDistributionSet(name: string, artifact: Uint8Array): Promise<number> {
    const [module] = await this.call<{ id: number }[]>('POST', '/softwaremodules', [
      { name, version: '1.0.0', type: 'os' },
    ]);
    if (!module) throw new FleetBenchError('MANAGEMENT_API', 'no software module created');
    const form = new FormData();
    form.append('file', new Blob([artifact]), 'firmware.bin');
    await this.call('POST', `/softwaremodules/${module.id}/artifacts`, form);
    const [set] = await this.call<{ id: number }[]>('POST', '/distributionsets', [
      { name, version: '1.0.0', type: 'os', modules: [{ id: module.id }] },
    ]);
    if (!set) throw new FleetBenchError('MANAGEMENT_API', 'no distribution set created');
    return set.id;
  }

  /**
   * One assignment of the whole fleet, in requests of at most 5,000 targets: hawkBit's quota
   * (`maxTargetDistributionSetAssignmentsPerManualAssignment`) refuses more in one request.
   */
  async assign(setId: number, controllerIds: readonly string[]) {
    const sum = { assigned: 0, alreadyAssigned: 0, total: 0 };
    for (let i = 0; i < controllerIds.length; i += 5_000) {
      const part = await this.call<{ assigned: number; alreadyAssigned: number; total: number }>(
        'POST',
        `/distributionsets/${setId}/assignedTargets`,
        controllerIds.slice(i, i + 5_000).map((id) => ({ id, type: 'forced' })),
      );
      sum.assigned += part.assigned;
      sum.alreadyAssigned += part.alreadyAssigned;
      sum.total += part.total;
    }
    return sum;
  }

  /** How many targets match an RSQL query (one page of one, only `total` is read). */
  async count(q?: string): Promise<number> {
    const query = q ? `&q=${encodeURIComponent(q)}` : '';
    return (await this.call<{ total: number }>('GET', `/targets?limit=1${query}`)).total;
  }
}
