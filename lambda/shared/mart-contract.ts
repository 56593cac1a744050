/**
 * How the functions reach the data mart and what it holds, in one place (side-effect free: the DataMart and Api stacks
 * import it to set the variables and hand over the tables, the functions to read them):
 *
 * - the environment variables naming the Data API target (`DataMartStack.connectionEnvironment(login)` sets them);
 * - the database logins: one per purpose, each with its own Secrets Manager secret. A login is a pair of users that
 *   alternate on every rotation (lambda/migrate/sql/V004__login_roles.sql creates them): the secret names one of them,
 *   the rotation function gives the other a new password and then switches the secret to it, so the user in use
 *   keeps working throughout. Every user of a pair is a member of the purpose's group roles and of nothing else;
 * - the mart tables: which datasets have one, and its name in schema `mart`.
 */
import type { ColumnConfig, DatasetConfig } from '../../config/schema';

export const MART_CONNECTION_ENV = {
  /** ARN of the Aurora cluster (Data API enabled). */
  clusterArn: 'MART_CLUSTER_ARN',
  /** ARN of the login's Secrets Manager secret (the Data API authenticates with its AWSCURRENT version). */
  secretArn: 'MART_SECRET_ARN',
  /** Database name. */
  database: 'MART_DATABASE',
} as const;

export interface MartLoginDefinition {
  /** The two users that take turns: the secret names one, rotation moves it to the other. */
  readonly users: readonly [string, string];
  /** Group roles the users are members of (they inherit its privileges, own nothing and cannot SET ROLE beyond). */
  readonly groups: readonly string[];
  /** What the login may do, for descriptions. */
  readonly purpose: string;
}

/**
 * The application logins. `reader`: the API functions (SELECT on mart.*). `loader`: the stage A and B functions
 * (INSERT/UPDATE on audit.*, INSERT/UPDATE/DELETE on mart.*, temp tables, aws_s3 import) and the post-deploy
 * integration test, which follows its run in audit.* and deletes its own sample rows from the mart by key.
 *
 * There is no separate login for the integration test, deliberately: DELETE on mart.* adds no real capability to the
 * loader (it already has UPDATE on every mart row, so it could overwrite all data); the integration-test role that
 * reads the loader's secret is assumed only by the post-deploy test step (or the GitHub deploy role, when that lands);
 * and every login costs a Secrets Manager secret ($0.40/month per environment), which would push Dev past its idle
 * budget ($5/month, $3 of it KMS).
 */
export const MART_LOGINS = {
  reader: {
    users: ['mart_reader_a', 'mart_reader_b'],
    groups: ['mart_reader'],
    purpose: 'reads mart.* (API queries and exports)',
  },
  loader: {
    users: ['mart_loader_a', 'mart_loader_b'],
    groups: ['mart_loader'],
    purpose: 'writes mart.* and audit.* (stage A and B, the integration test)',
  },
} as const satisfies Record<string, MartLoginDefinition>;

export type MartLogin = keyof typeof MART_LOGINS;
export const MART_LOGIN_NAMES = Object.keys(MART_LOGINS) as MartLogin[];

/** The user of the pair that is not `username`; undefined when `username` is not one of the login's users. */
export function alternateUser(login: MartLogin, username: string): string | undefined {
  const [first, second] = MART_LOGINS[login].users;
  if (username === first) return second;
  if (username === second) return first;
  return undefined;
}

/** The parts of a dataset the mart needs (what the DataMart stack hands to the migration custom resource). */
export type MartDataset = Pick<DatasetConfig, 'name' | 'primaryKey'> & {
  readonly columns: readonly Pick<ColumnConfig, 'name' | 'type' | 'nullable'>[];
  readonly mart: Pick<DatasetConfig['mart'], 'enabled' | 'table' | 'indexes'>;
};

/** The schema of the mart tables. */
export const MART_SCHEMA = 'mart';

/** The mart-enabled datasets, reduced to what the mart needs (what the stack passes to the migrations resource). */
export function martDatasets(datasets: readonly DatasetConfig[]): MartDataset[] {
  return datasets
    .filter((dataset) => dataset.mart.enabled)
    .map(({ name, columns, primaryKey, mart }) => ({
      name,
      columns: columns.map((column) => ({ name: column.name, type: column.type, nullable: column.nullable })),
      primaryKey,
      mart: { enabled: mart.enabled, table: mart.table, indexes: mart.indexes },
    }));
}

/** Mart table name (unqualified) of a dataset. */
export function martTableName(dataset: Pick<MartDataset, 'name' | 'mart'>): string {
  return dataset.mart.table ?? dataset.name;
}

/**
 * The PostgreSQL type of each dataset column type but `decimal(p,s)` (which is `numeric(p,s)`), spelled as
 * `format_type()` prints it: the mart tables' columns, and what query values are cast to.
 */
export const POSTGRES_TYPES: Readonly<Record<string, string>> = {
  string: 'text',
  integer: 'integer',
  bigint: 'bigint',
  double: 'double precision',
  boolean: 'boolean',
  date: 'date',
  timestamp: 'timestamp with time zone',
};
