/** What run.ts and its server process (servers.ts) agree on. */
export const CONTROLLERS = 10_000;
export const GATEWAY = 'bench-gateway';
export const SLEEP = '00:05:00';
export const FILE_MB = 100;
export const cid = (i: number) => `bench-${i % CONTROLLERS}`;

/** What the DDI server answers an idle controller's root poll, built by hand for the baseline. */
export const rootBody = (controllerId: string, origin: string) =>
  JSON.stringify({
    config: { polling: { sleep: SLEEP } },
    _links: { configData: { href: `${origin}/DEFAULT/controller/v1/${controllerId}/configData` } },
  });

export type ServerOp = 'cpu' | 'assign' | 'artifact' | 'close';
