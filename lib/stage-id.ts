/** Stable construct ID of an environment's stage: `dev` -> `Dev`, `eu-prod` -> `EuProd` (also its stacks' path prefix). */
export function stageId(environmentName: string): string {
  return environmentName
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
