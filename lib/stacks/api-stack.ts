import { Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { DatasetConfig, EnvironmentConfig } from '../../config/schema';
import { UPLOAD_URL_ENV } from '../../lambda/upload-url/contract';
import { ApiAuth } from '../constructs/api-auth';
import { type ApiFunctionSettings, apiFunction } from '../constructs/api-function';
import { type ApiRouteKey, splitRouteKey } from '../assets/api/routes';
import { accessLogFormat, addJsonGatewayResponses } from '../constructs/api-gateway-defaults';
import { addApiWebAcl } from '../constructs/api-web-acl';
import { ExportJobsStore } from '../constructs/export-jobs';
import { EXPORT_WORKER_TIMEOUT, ExportRoutes } from '../constructs/export-routes';
import { type AddRoute, IngestionRoutes } from '../constructs/ingestion-routes';
import { MartRoutes } from '../constructs/mart-routes';
import type { ZoneBucket } from '../constructs/zone-bucket';
import type { MartAccess } from './data-mart-stack';
import { removalPolicyOf } from '../constructs/removal-policy';

export interface ApiStackProps extends StackProps {
  /** `<platformPrefix>-<env>`, e.g. `dp-dev`. */
  readonly prefix: string;
  readonly environment: EnvironmentConfig;
  /** Every configured dataset: the dataset routes accept these names; mart-enabled ones are readable. */
  readonly datasets: readonly DatasetConfig[];
  /** The platform KMS key (logs, job table, queues, objects). */
  readonly key: kms.IKey;
  /** The zone buckets the API uses (StorageStack.zones): their grants and synth-time names. */
  readonly zones: { readonly landing: ZoneBucket; readonly artifacts: ZoneBucket };
  /** The data mart: the API functions read it as its reader login. */
  readonly mart: MartAccess;
  /** Topic notified by the export dead-letter alarm. @default - the alarm has no action */
  readonly alarmTopic?: sns.ITopic;
}

/** Stage of the deployed API (paths carry the version: `/v1/...`). */
export const API_STAGE_NAME = 'live';
/** Lifetime of presigned upload and download URLs. */
export const PRESIGNED_URL_EXPIRY = Duration.minutes(15);

/**
 * The REST API of one environment: document ingestion straight to S3, presigned uploads, export jobs through SQS and
 * read-only data mart queries. Every method requires auth; requests are validated, throttled and access-logged.
 */
export class ApiStack extends Stack {
  readonly api: apigw.RestApi;
  readonly auth: ApiAuth;
  readonly exportJobs: ExportJobsStore;
  /** Base URL of the stage, ending in `/`. */
  readonly url: string;
  /** `METHOD /path` of every route (API_ROUTES, what routeThrottling keys name), in the order they were added. */
  readonly routes: ApiRouteKey[] = [];
  /** The dataset routes (objects, events, uploads) and what they write with: roles, event streams. */
  readonly ingestion: IngestionRoutes;
  /** The export job routes and their functions (request, status, worker). */
  readonly exports: ExportRoutes;
  /** The data mart query route and its function. */
  readonly marts: MartRoutes;

  /** Route key -> its method. */
  private readonly routeMethods = new Map<string, { resourcePath: string; httpMethod: string }[]>();
  private readonly props: ApiStackProps;
  private readonly validator: apigw.RequestValidator;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    this.props = props;
    const { environment, prefix } = props;
    const api = environment.api;
    const removalPolicy = removalPolicyOf(environment);

    this.auth = new ApiAuth(this, 'Auth', { auth: api.auth, prefix, removalPolicy });

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: environment.logRetentionDays as logs.RetentionDays,
      encryptionKey: props.key,
      removalPolicy,
    });

    this.api = new apigw.RestApi(this, 'Resource', {
      restApiName: `${prefix}-api`,
      description: `Data platform API (${environment.name}): ingestion, uploads, exports, data mart queries`,
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: removalPolicy,
      defaultMethodOptions: this.auth.methodOptions,
      deployOptions: {
        stageName: API_STAGE_NAME,
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        throttlingRateLimit: api.throttling.rateLimit,
        throttlingBurstLimit: api.throttling.burstLimit,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: accessLogFormat(),
      },
    });
    this.url = this.api.url;
    // Execution logs (loggingLevel ERROR) go to a log group API Gateway would otherwise create itself, unencrypted and
    // kept forever: created here first, under the name API Gateway writes to, with the platform key and a retention.
    const executionLogs = new logs.LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${API_STAGE_NAME}`,
      retention: environment.logRetentionDays as logs.RetentionDays,
      encryptionKey: props.key,
      removalPolicy,
    });
    this.api.deploymentStage.node.addDependency(executionLogs);
    this.validator = new apigw.RequestValidator(this, 'Validator', {
      restApi: this.api,
      requestValidatorName: 'body-and-parameters',
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    addJsonGatewayResponses(this.api);

    this.exportJobs = new ExportJobsStore(this, 'ExportJobs', {
      key: props.key,
      removalPolicy,
      // Six times the worker timeout (AWS guidance), so a running export is never handed to a second worker.
      visibilityTimeout: Duration.seconds(EXPORT_WORKER_TIMEOUT.toSeconds() * 6),
      alarmTopic: props.alarmTopic,
    });

    const v1 = this.api.root.addResource('v1');
    const functions = { key: props.key, logRetentionDays: environment.logRetentionDays, removalPolicy };
    const addRoute: AddRoute = (resource, integration, route, options) =>
      this.addRoute(resource, integration, route, options);
    this.ingestion = this.addDatasetRoutes(v1, functions, addRoute);
    this.exports = new ExportRoutes(this, 'Exports', {
      ...functions,
      api: this.api,
      parent: v1,
      datasets: props.datasets,
      jobs: this.exportJobs,
      artifacts: props.zones.artifacts,
      mart: props.mart,
      downloadUrlExpiry: PRESIGNED_URL_EXPIRY,
      validator: this.validator,
      addRoute,
    });
    this.marts = new MartRoutes(this, 'Marts', {
      ...functions,
      parent: v1,
      datasets: props.datasets,
      mart: props.mart,
      validator: this.validator,
      addRoute,
    });
    this.applyRouteThrottling();

    if (api.waf.enabled) {
      addApiWebAcl(this, this.api.deploymentStage, {
        name: `${prefix}-api`,
        rateLimitPer5Minutes: api.waf.rateLimitPer5Minutes,
      });
    }
    this.acknowledgeFindings();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Routes
  // ---------------------------------------------------------------------------------------------------------------

  /**
   * POST /v1/datasets/{dataset}/objects (S3), /events (Firehose), /uploads (presigned URL): shared by every dataset,
   * which adds no API resource; an unknown dataset gets a JSON 404 (see IngestionRoutes).
   */
  private addDatasetRoutes(v1: apigw.Resource, functions: ApiFunctionSettings, addRoute: AddRoute): IngestionRoutes {
    const { props } = this;
    const names = props.datasets.map((dataset) => dataset.name);
    const uploadUrl = apiFunction(this, 'UploadUrlFunction', {
      ...functions,
      handlerDir: 'upload-url',
      environment: {
        [UPLOAD_URL_ENV.landingBucket]: props.zones.landing.bucketName,
        [UPLOAD_URL_ENV.kmsKeyArn]: props.key.keyArn,
        [UPLOAD_URL_ENV.datasets]: JSON.stringify(names),
        [UPLOAD_URL_ENV.urlExpirySeconds]: String(PRESIGNED_URL_EXPIRY.toSeconds()),
        [UPLOAD_URL_ENV.maxUploadBytes]: String(props.environment.api.maxUploadBytes),
      },
    });
    return new IngestionRoutes(this, 'Ingestion', {
      api: this.api,
      parent: v1,
      prefix: props.prefix,
      datasets: names,
      landing: props.zones.landing,
      key: props.key,
      validator: this.validator,
      callerContextVariable: this.auth.callerContextVariable,
      uploadUrlFunction: uploadUrl,
      eventBuffering: {
        sizeMiB: props.environment.events.bufferSizeMiB,
        intervalSeconds: props.environment.events.bufferIntervalSeconds,
      },
      logRetentionDays: functions.logRetentionDays,
      removalPolicy: functions.removalPolicy,
      addRoute,
    });
  }

  /** Adds the one method of a route key (lib/assets/api/routes.ts) and records it (routeThrottling, OpenAPI check). */
  private addRoute(
    resource: apigw.Resource,
    integration: apigw.Integration,
    route: ApiRouteKey,
    options: apigw.MethodOptions,
  ): apigw.Method {
    const { httpMethod, path } = splitRouteKey(route);
    if (resource.path !== path || this.routeMethods.has(route)) {
      throw new Error(`Route ${route} added on ${resource.path} or twice. Fix: add each route of API_ROUTES once`);
    }
    this.routes.push(route);
    this.routeMethods.set(route, [{ resourcePath: resource.path, httpMethod }]);
    return resource.addMethod(httpMethod, integration, options);
  }

  /**
   * Adds the stage method settings of `environment.api.routeThrottling` (its keys were checked against API_ROUTE_KEYS
   * at config load). The Stage renders its settings when it is created, before the routes exist, hence the L1 here.
   */
  private applyRouteThrottling(): void {
    const settings: apigw.CfnStage.MethodSettingProperty[] = [];
    for (const [route, throttle] of Object.entries(this.props.environment.api.routeThrottling)) {
      const methods = this.routeMethods.get(route);
      if (!methods) {
        throw new Error(
          `Route "${route}" is in API_ROUTE_KEYS (lib/assets/api/routes.ts) but ApiStack adds no such route. Fix: add the route to ApiStack or remove it from API_ROUTE_KEYS`,
        );
      }
      for (const { resourcePath, httpMethod } of methods) {
        settings.push({
          // Method settings address a resource path with its slashes escaped as ~1.
          resourcePath: `/${resourcePath.replace(/\//g, '~1')}`,
          httpMethod,
          throttlingRateLimit: throttle.rateLimit,
          throttlingBurstLimit: throttle.burstLimit,
          // A method's settings replace the stage-wide ones for it: logging and metrics are repeated.
          loggingLevel: apigw.MethodLoggingLevel.ERROR,
          dataTraceEnabled: false,
          metricsEnabled: true,
        });
      }
    }
    if (settings.length === 0) return;
    const stage = this.api.deploymentStage.node.defaultChild as apigw.CfnStage;
    const stageWide = (stage.methodSettings ?? []) as apigw.CfnStage.MethodSettingProperty[];
    stage.methodSettings = [...stageWide, ...settings];
  }

  // ---------------------------------------------------------------------------------------------------------------
  // cdk-nag
  // ---------------------------------------------------------------------------------------------------------------

  private acknowledgeFindings(): void {
    const { environment } = this.props;
    const api = environment.api;
    const stage = this.api.deploymentStage;
    if (!api.waf.enabled) {
      Validations.of(stage).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason: `environments/${environment.name}.json sets api.waf.enabled false (cost); every method still requires auth and is throttled`,
      });
    }
    if (api.auth.type === 'iam' || api.auth.type === 'lambda-authorizer') {
      for (const method of this.api.methods) {
        Validations.of(method).acknowledge({
          id: 'AwsSolutions-COG4',
          reason: `environments/${environment.name}.json chooses ${api.auth.type} auth for this API; the method requires it`,
        });
      }
    }
    const pool = this.auth.userPool;
    if (api.auth.type === 'cognito' && pool) {
      Validations.of(pool).acknowledge({
        id: 'AwsSolutions-COG3',
        reason:
          'Threat protection (Cognito Plus plan) is a paid add-on not chosen for this platform; MFA and a strong password policy apply',
      });
      if (api.auth.mfa !== 'required') {
        Validations.of(pool).acknowledge({
          id: 'AwsSolutions-COG2',
          reason: `environments/${environment.name}.json sets api.auth.mfa "${api.auth.mfa}"; production environments require it`,
        });
      }
    }
    const cloudWatchRole = this.api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: 'The AWS-maintained policy of the account-level role API Gateway needs to write execution logs',
      });
    }
    if (pool && api.auth.type === 'cognito') {
      Validations.of(pool).acknowledge({
        id: 'AwsSolutions-COG8',
        reason: 'The Plus feature plan (threat protection) is a paid add-on not chosen for this platform',
      });
    }
  }
}
