/**
 * Runs a SYNTHESIZED state machine definition locally with aws-local-stepfunctions: the `DefinitionString` of the
 * template (an Fn::Join of literal JSON and tokens) is resolved into plain ASL, then tasks are overridden by state
 * name with local functions that call the real handlers.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { type RunOptions, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';

// aws-local-stepfunctions 3 uses Promise.withResolvers (Node.js 22+); this keeps it running on Node.js 20.
const promiseStatics = Promise as unknown as { withResolvers?: unknown };
promiseStatics.withResolvers ??= function withResolvers<T>() {
  let resolve!: (value: T | PromiseLike<T>) => void;
  let reject!: (reason?: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

export interface TokenContext {
  readonly account: string;
  readonly region: string;
  /**
   * Value of a value from another stack, by `<stack>:<output>` (Fn::GetStackOutput) or export name (Fn::ImportValue).
   * @default - `output:<stack>:<output>` or `imported:<export name>`
   */
  readonly imports?: (exportName: string) => string;
}

type Token =
  | { Ref: string }
  | { 'Fn::GetAtt': [string, string] }
  | { 'Fn::ImportValue': unknown }
  | { 'Fn::GetStackOutput': { StackName: string; OutputName: string } };

/** Resolves the tokens CDK leaves in a definition string to stable, readable strings. */
export function resolveToken(token: unknown, context: TokenContext): string {
  const value = token as Token;
  if ('Ref' in value) {
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::Region': context.region,
      'AWS::AccountId': context.account,
      'AWS::URLSuffix': 'amazonaws.com',
    };
    return pseudo[value.Ref] ?? `ref:${value.Ref}`;
  }
  if ('Fn::GetAtt' in value) {
    const [logicalId, attribute] = value['Fn::GetAtt'];
    if (attribute !== 'Arn') return `${logicalId}.${attribute}`;
    // Only Lambda functions, topics and queues are referenced by ARN in our definitions; the service is cosmetic.
    return `arn:aws:lambda:${context.region}:${context.account}:function:${logicalId}`;
  }
  if ('Fn::GetStackOutput' in value) {
    const { StackName, OutputName } = value['Fn::GetStackOutput'];
    return context.imports ? context.imports(`${StackName}:${OutputName}`) : `output:${StackName}:${OutputName}`;
  }
  if ('Fn::ImportValue' in value) {
    const exported = value['Fn::ImportValue'];
    const name = typeof exported === 'string' ? exported : JSON.stringify(exported).replace(/"/g, "'");
    return context.imports ? context.imports(name) : `imported:${name}`;
  }
  throw new Error(`Unsupported token in definition: ${JSON.stringify(token)}. Fix: extend resolveToken`);
}

/** The plain ASL of the state machine named `stateMachineName` in `template`. */
export function synthesizedDefinition(
  template: Template,
  stateMachineName: string,
  context: TokenContext,
): StateMachineDefinition {
  const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine')).filter(
    (resource) => resource.Properties.StateMachineName === stateMachineName,
  );
  if (machines.length !== 1) {
    throw new Error(`Expected one state machine named ${stateMachineName}, found ${machines.length}`);
  }
  const definitionString = machines[0].Properties.DefinitionString;
  const text =
    typeof definitionString === 'string'
      ? definitionString
      : (definitionString['Fn::Join'][1] as unknown[])
          .map((part) => (typeof part === 'string' ? part : resolveToken(part, context)))
          .join('');
  return JSON.parse(text) as StateMachineDefinition;
}

export interface ExecutionResult {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  /** Names of the states entered, in order (retries enter a state once, see `retries`). */
  readonly path: string[];
  /** Retries per state name. */
  readonly retries: Record<string, number>;
}

/**
 * Runs one execution to its end. `executionName` plays the role of `$$.Execution.Name` (the run id); retry waits
 * are overridden to 0 ms for every retried state, so backoffs never slow a test.
 */
export async function runExecution(
  definition: StateMachineDefinition,
  input: unknown,
  options: {
    executionName: string;
    handlers: NonNullable<NonNullable<RunOptions['overrides']>['taskResourceLocalHandlers']>;
  },
): Promise<ExecutionResult> {
  const machine = new StateMachine(definition, { validationOptions: { checkArn: false } });
  const noWaits = Object.fromEntries(
    Object.entries(definition.States)
      .filter(([, state]) => 'Retry' in state)
      .map(([name]) => [name, 0]),
  );
  const execution = machine.run(input as never, {
    overrides: { taskResourceLocalHandlers: options.handlers, retryIntervalOverrides: noWaits },
    context: {
      Execution: {
        Id: `arn:aws:states:eu-west-1:222222222222:execution:local:${options.executionName}`,
        Name: options.executionName,
        StartTime: new Date().toISOString(),
        Input: input as never,
      },
    },
  });
  const path: string[] = [];
  const retries: Record<string, number> = {};
  const collectEvents = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') path.push(event.state.name);
      if (event.type === 'StateRetried') retries[event.state.name] = (retries[event.state.name] ?? 0) + 1;
    }
  })();
  try {
    const output = await execution.result;
    await collectEvents;
    return { status: 'SUCCEEDED', output, path, retries };
  } catch (error) {
    await collectEvents.catch(() => undefined);
    const failure = error as Error & { cause?: { name?: string; message?: string } };
    return {
      status: 'FAILED',
      error: failure.cause?.name ?? failure.name,
      cause: failure.cause?.message ?? failure.message,
      path,
      retries,
    };
  }
}
