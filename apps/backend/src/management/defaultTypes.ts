/** hawkBit's default software module types of a new tenant (there is no `runtime` type). */
export const SOFTWARE_MODULE_TYPES: Readonly<
  Record<string, { id: number; name: string; description: string; maxAssignments: number }>
> = {
  os: { id: 1, name: 'OS', description: 'Core firmware or operating system', maxAssignments: 1 },
  application: {
    id: 2,
    name: 'Application',
    description: 'Application Addons',
    maxAssignments: 2147483647,
  },
};

/** hawkBit's default distribution set types; `os_app` is the tenant default. */
export const DISTRIBUTION_SET_TYPES: Readonly<
  Record<
    string,
    { id: number; name: string; description: string; mandatory: string[]; optional: string[] }
  >
> = {
  os: {
    id: 1,
    name: 'OS only',
    description: 'Default type with Firmware/OS only.',
    mandatory: ['os'],
    optional: [],
  },
  app: {
    id: 2,
    name: 'App(s) only',
    description: 'Default type with app(s) only.',
    mandatory: ['application'],
    optional: [],
  },
  os_app: {
    id: 3,
    name: 'OS with app(s)',
    description: 'Default type with Firmware/OS and optional app(s).',
    mandatory: ['os'],
    optional: ['application'],
  },
};
