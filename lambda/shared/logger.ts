import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** One Powertools logger and metrics instance per function; service and namespace come from the environment. */
export const logger = new Logger();
export const metrics = new Metrics();
