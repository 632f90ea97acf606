/** The hawkBit JSON the console reads: only the fields it shows. */

export interface Paged<T> {
  content: T[];
  total: number;
  size: number;
}

export interface Target {
  controllerId: string;
  name: string;
  description?: string;
  updateStatus: string;
  channel?: string;
  address?: string;
  ipAddress?: string;
  lastControllerRequestAt?: number;
  createdAt?: number;
  lastModifiedAt?: number;
  installedAt?: number;
}

export interface SoftwareModule {
  id: number;
  name: string;
  version: string;
  type: string;
  typeName?: string;
  vendor?: string;
}

export interface Artifact {
  id: number;
  providedFilename: string;
  size: number;
}

export interface DistributionSet {
  id: number;
  name: string;
  version: string;
  type: string;
  modules: SoftwareModule[];
  complete?: boolean;
}

export interface TypeEntry {
  id: number;
  key: string;
  name: string;
}

export interface Action {
  id: number;
  type: string;
  status: string;
  active: boolean;
  forceType: string;
  weight?: number;
  lastStatusCode?: number;
  createdAt?: number;
  lastModifiedAt?: number;
  _links?: Record<string, { href: string; name?: string }>;
}

export interface StatusEntry {
  id: number;
  type: string;
  messages: string[];
  reportedAt: number;
  code?: number;
}

export interface AssignmentResult {
  assigned: number;
  alreadyAssigned: number;
  total: number;
}
