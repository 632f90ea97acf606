import type { DbPoolStats } from '@otaflow/store-postgres';
import type { BackendMetrics } from './BackendMetrics.js';

/**
 * The database pool as gauges. postgres.js reports no idle or waiting counts of its own, so
 * `busy` is counted around the store's statements: above `size`, the rest wait for a connection.
 */
export function addPoolMetrics(metrics: BackendMetrics, stats: () => DbPoolStats): void {
  metrics.addCollector(
    'otaflow_db_pool_connections',
    'Connections the database pool may open (PGlite: its single session)',
    () => stats().size,
  );
  metrics.addCollector(
    'otaflow_db_pool_busy',
    'Statements and transactions under way on the database; above the pool size they wait',
    () => stats().busy,
  );
}
