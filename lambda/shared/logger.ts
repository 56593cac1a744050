import type { Context } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { PLATFORM_SERVICE } from './metrics-contract';

/** One Powertools logger and metrics instance per function; service and namespace come from the environment. */
export const logger = new Logger();
export const metrics = new Metrics();
/**
 * The platform-wide metrics (service `platform`, no dataset): one series per environment, which the alarms read
 * (lambda/shared/metrics-contract.ts). Published right away, one line each, wherever they are counted.
 */
export const platformMetrics = new Metrics({ serviceName: PLATFORM_SERVICE });

/** Counts one platform-wide event now (its own EMF line: no handler has to flush it). */
export function countPlatformEvent(name: string, value = 1): void {
  platformMetrics.singleMetric().addMetric(name, 'Count', value);
}

/** Records a platform-wide gauge now (its own EMF line; alarms read it as Maximum). */
export function recordPlatformGauge(name: string, value: number, unit: 'Seconds' | 'Count'): void {
  platformMetrics.singleMetric().addMetric(name, unit, value);
}

/**
 * A function's entry point with the Lambda context on every log line of the invocation (request id, cold start,
 * function name, version, ARN and memory: Powertools `addContext`, as its `injectLambdaContext` does), and the keys
 * the invocation appended cleared when it ends, so none leaks into the next one. Every `handler` export is wrapped.
 */
export function withLambdaContext<Event, Result, InvocationContext extends Partial<Context> = Context>(
  handler: (event: Event, context?: InvocationContext) => Promise<Result>,
  log: Logger = logger,
): (event: Event, context?: InvocationContext) => Promise<Result> {
  return async (event, context) => {
    log.refreshSampleRateCalculation();
    // Lambda always passes the context; a local caller (a test, a benchmark) may not.
    if (context) log.addContext(context as Context);
    try {
      return await handler(event, context);
    } finally {
      log.resetKeys();
    }
  };
}
