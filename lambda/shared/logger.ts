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
