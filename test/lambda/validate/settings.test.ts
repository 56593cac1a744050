import { Match, Template } from 'aws-cdk-lib/assertions';
import { environmentSchema } from '../../../config/schema';
import {
  parseValidationSettings,
  VALIDATE_ENV,
  VALIDATION_DEFAULTS,
  validationEnvironment,
} from '../../../lambda/validate/contract';
import { OrchestrationStack } from '../../../lib/stacks/orchestration-stack';
import { exampleConfig, exampleEnvironment, testApp } from '../../helpers/app';
import { dataMart as buildDataMart, foundation } from '../../integration/helpers/foundation';

/** An environment file's content with `etl.validation` set to `validation`. */
function environmentWith(validation: unknown): unknown {
  const { etl, ...rest } = exampleEnvironment('dev');
  return { ...rest, etl: { ...etl, validation } };
}

describe('etl.validation', () => {
  test('defaults, in config/schema.ts, to the values the function falls back to', () => {
    const parsed = environmentSchema.parse(environmentWith(undefined));
    expect(parsed.etl.validation).toEqual(VALIDATION_DEFAULTS);
  });

  test.each([
    [{ maxInflationRatio: 1 }, 'maxInflationRatio', /must be at least 2/],
    [{ maxRejectedRows: -1 }, 'maxRejectedRows', /0 or more/],
    [{ maxRecordChars: 100_000_000 }, 'maxRecordChars', /between 1024 and 16777216/],
    [{ timeBudgetMarginSeconds: 900 }, 'timeBudgetMarginSeconds', /between 10 and 300/],
    [{ maxInflatedBytes: 1.5 }, 'maxInflatedBytes', /must be a whole number/],
  ])('fails %p with the key and the fix', (validation, key, message) => {
    const result = environmentSchema.safeParse(environmentWith(validation));
    expect(result.success).toBe(false);
    const issue = result.error!.issues.find((candidate) => candidate.path.join('.') === `etl.validation.${key}`);
    expect(issue?.message).toMatch(message);
  });

  test('fails an unknown key (a typo must not silently keep the default)', () => {
    const result = environmentSchema.safeParse(environmentWith({ maxRejectedRow: 5 }));
    expect(result.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', path: ['etl', 'validation'] });
  });
});

describe('the function environment', () => {
  const settings = { ...VALIDATION_DEFAULTS, maxRejectedRows: 0, maxInflationRatio: 12.5, timeBudgetMarginSeconds: 30 };

  test('round-trips through the variables named in the contract', () => {
    const env = validationEnvironment(settings);
    expect(env).toEqual({
      VALIDATE_MAX_INFLATED_BYTES: '10737418240',
      VALIDATE_MAX_INFLATION_RATIO: '12.5',
      VALIDATE_MAX_UNCOMPRESSED_OBJECT_BYTES: '10737418240',
      VALIDATE_MAX_REJECTED_ROWS: '0',
      VALIDATE_MAX_RECORD_CHARS: '1048576',
      VALIDATE_TIME_BUDGET_MARGIN_SECONDS: '30',
    });
    expect(parseValidationSettings(env)).toEqual(settings);
    expect(parseValidationSettings({})).toEqual(VALIDATION_DEFAULTS);
  });

  test.each([
    [VALIDATE_ENV.maxRejectedRows, '10k', 'a whole number >= 0', 'etl.validation.maxRejectedRows', 10000],
    [VALIDATE_ENV.maxInflatedBytes, '0', 'a whole number > 0', 'etl.validation.maxInflatedBytes', 10737418240],
    [VALIDATE_ENV.maxInflationRatio, 'Infinity', 'a number >= 1', 'etl.validation.maxInflationRatio', 100],
    [VALIDATE_ENV.timeBudgetMarginSeconds, '1.5', 'a whole number > 0', 'etl.validation.timeBudgetMarginSeconds', 60],
  ])(
    'fails the cold start when %s is %p, naming the variable, the value and the fix',
    (variable, value, expected, key, fallback) => {
      expect(() => parseValidationSettings({ [variable]: value })).toThrow(
        `Environment variable ${variable} is ${JSON.stringify(value)}, not ${expected}. Fix: set ${key} in config/environments/<env>.json and redeploy (default ${fallback})`,
      );
    },
  );

  test('the Orchestration stack sets them on the validate function from etl.validation', () => {
    const app = testApp();
    const base = foundation(app, 'dev');
    const environment = { ...base.environment, etl: { ...base.environment.etl, validation: settings } };
    const dataMart = buildDataMart(app, base);
    const stack = new OrchestrationStack(app, 'Orchestration', {
      ...base.common,
      environment,
      env: base.env,
      datasets: exampleConfig().datasets,
      storage: base.storage,
      curateJobName: `${base.prefix}-curate`,
      dataMart,
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ ARTIFACTS_BUCKET: Match.anyValue(), ...validationEnvironment(settings) }),
      },
    });
  });
});
