/**
 * The stacks of one environment's stage, by the suffix of their names (`<prefix>-<env>-<suffix>`, e.g.
 * `dp-dev-data-mart`). Side-effect free, so that scripts (the integration test's `--from-stacks`) can name them.
 */
export const STAGE_STACK_SUFFIXES = [
  'storage',
  'network',
  'iam',
  'data-mart',
  'catalog',
  'orchestration',
  'api',
  'operations',
] as const;
