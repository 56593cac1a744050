/**
 * The contract of the migrate function, the onEvent handler of the data mart's migrations custom resource (side-effect
 * free: the DataMart stack imports it). It runs as the master login (MART_CONNECTION_ENV of ../shared/mart-contract.ts
 * names the master secret) and applies the SQL files of ./sql, which the DataMart stack also hashes.
 */

/** The custom resource's type. */
export const MIGRATIONS_RESOURCE_TYPE = 'Custom::DataMartMigrations';

/** Its one physical id: the schema lives and dies with the cluster, so an update never replaces it. */
export const PHYSICAL_RESOURCE_ID = 'data-mart-migrations';

/** The resource properties the DataMart stack sets. */
export const MIGRATIONS_PROPERTIES = {
  /** Changes whenever a migration file or the mart config changes, so every such deploy re-runs the migrations. */
  migrationSetHash: 'MigrationSetHash',
  /** JSON of the mart-enabled datasets (MartDataset[] of ../shared/mart-contract.ts), the mart tables' source. */
  datasets: 'Datasets',
  /** JSON: login -> ARN of its secret; a replaced secret re-runs the migrations, which set its user's password. */
  loginSecrets: 'LoginSecrets',
} as const;

/** The folder of the versioned migrations, beside the function (`V<n>__<name>.sql`, applied in file-name order). */
export const MIGRATIONS_DIRECTORY = 'sql';
