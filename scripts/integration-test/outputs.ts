/**
 * Stage outputs arrive as environment variables (the pipeline step's `envFromCfnOutputs`): CfnOutput `LandingBucketName`
 * of the stage becomes `LANDING_BUCKET_NAME`.
 */

export class MissingOutputsError extends Error {
  constructor(
    readonly missing: readonly string[],
    environment: string,
  ) {
    super(
      `Missing environment variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (stage output${missing.length > 1 ? 's' : ''} ${missing.map(outputIdOf).join(', ')} of ${environment}). ` +
        'Fix: run the test from the pipeline step, which sets them from the stage outputs; by hand, export them from ' +
        `\`aws cloudformation describe-stacks\` of the ${environment} stacks`,
    );
    this.name = 'MissingOutputsError';
  }
}

/** Picks the `required` variables from `env`; throws naming every missing or empty one. */
export function readStageOutputs(
  env: Readonly<Record<string, string | undefined>>,
  required: readonly string[],
  environment: string,
): Record<string, string> {
  const missing = [...new Set(required)].filter((name) => !env[name]?.trim());
  if (missing.length > 0) throw new MissingOutputsError(missing, environment);
  return Object.fromEntries(required.map((name) => [name, (env[name] as string).trim()]));
}

/** `LANDING_BUCKET_NAME` -> `LandingBucketName` (the CfnOutput id in the stage). */
export function outputIdOf(variable: string): string {
  return variable
    .toLowerCase()
    .split('_')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
