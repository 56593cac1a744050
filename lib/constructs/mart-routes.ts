import { Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { Construct } from 'constructs';
import type { DatasetConfig } from '../../config/schema';
import { API_ENV, martTablesFromDatasets } from '../../lambda/api-shared/contract';
import { API_ROUTES } from '../assets/api/routes';
import type { MartAccess } from '../stacks/data-mart-stack';
import { type ApiFunctionSettings, apiFunction } from './api-function';
import type { AddRoute } from './ingestion-routes';
import type { PlatformFunction } from './platform-function';

export interface MartRoutesProps extends ApiFunctionSettings {
  /** The `/v1` resource. */
  readonly parent: apigw.Resource;
  /** Every configured dataset: the mart-enabled ones are the readable tables. */
  readonly datasets: readonly DatasetConfig[];
  /** The data mart, read as its reader login. */
  readonly mart: MartAccess;
  readonly validator: apigw.IRequestValidator;
  readonly addRoute: AddRoute;
}

/** Below API Gateway's 29 s integration timeout, so a slow query still gets a JSON answer from the function. */
export const MART_QUERY_TIMEOUT = Duration.seconds(25);

/**
 * The environment of an API function that reads the mart: the tables it may read (mart-enabled datasets) and the
 * reader login's Data API target (never the master's). Grant it with `mart.grantDataApi(fn, 'reader')`.
 */
export function martReaderEnvironment(mart: MartAccess, datasets: readonly DatasetConfig[]): Record<string, string> {
  return {
    [API_ENV.martTables]: JSON.stringify(martTablesFromDatasets(datasets)),
    ...mart.connectionEnvironment('reader'),
  };
}

/** `GET /v1/marts/{table}`: read-only queries of the whitelisted mart tables, keyset-paginated, as the reader login. */
export class MartRoutes extends Construct {
  readonly queryFunction: PlatformFunction;

  constructor(scope: Construct, id: string, props: MartRoutesProps) {
    super(scope, id);
    const { key, logRetentionDays, removalPolicy } = props;
    this.queryFunction = apiFunction(this, 'MartQueryFunction', {
      key,
      logRetentionDays,
      removalPolicy,
      handlerDir: 'mart-query',
      environment: martReaderEnvironment(props.mart, props.datasets),
      timeout: MART_QUERY_TIMEOUT,
      memorySize: 512,
    });
    props.mart.grantDataApi(this.queryFunction, 'reader');
    props.addRoute(
      props.parent.addResource('marts').addResource('{table}'),
      new apigw.LambdaIntegration(this.queryFunction),
      API_ROUTES.queryMart,
      { requestValidator: props.validator, requestParameters: { 'method.request.path.table': true } },
    );
  }
}
