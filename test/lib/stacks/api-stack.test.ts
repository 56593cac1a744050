import { Match, Template } from 'aws-cdk-lib/assertions';
import { API_ROUTE_KEYS } from '../../../lib/assets/api/routes';
import { testApp } from '../../helpers/app';
import { buildApiStack, generatedDatasets, synthesizedRoutes } from '../assets/api/api-fixture';

const templates = new Map<string, Template>();
/** One synthesized template per environment config (synth is the slow part). */
function templateFor(envName: 'dev' | 'test' | 'prod'): Template {
  let template = templates.get(envName);
  if (!template) {
    template = Template.fromStack(buildApiStack(testApp(), envName));
    templates.set(envName, template);
  }
  return template;
}

describe('auth', () => {
  test('every method of the dev API (cognito) requires the user pool authorizer', () => {
    const template = templateFor('dev');
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));
    expect(methods.length).toBe(8);
    for (const method of methods) {
      expect(method.Properties).toEqual(
        expect.objectContaining({ AuthorizationType: 'COGNITO_USER_POOLS', AuthorizerId: expect.anything() }),
      );
    }
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', { Type: 'COGNITO_USER_POOLS' });
  });

  test('the created user pool has a strong password policy, MFA per config and no self sign-up', () => {
    templateFor('dev').hasResourceProperties('AWS::Cognito::UserPool', {
      MfaConfiguration: 'OPTIONAL',
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      Policies: {
        PasswordPolicy: Match.objectLike({
          MinimumLength: 14,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        }),
      },
    });
    templateFor('prod').hasResourceProperties('AWS::Cognito::UserPool', {
      MfaConfiguration: 'ON',
      DeletionProtection: 'ACTIVE',
    });
  });

  test('the integration-test role may manage throwaway users of the created pool, nothing more', () => {
    templateFor('dev').hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Action: [
              'cognito-idp:AdminCreateUser',
              'cognito-idp:AdminDeleteUser',
              'cognito-idp:AdminInitiateAuth',
              'cognito-idp:AdminSetUserPassword',
            ],
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AuthUserPool'), 'Arn'] },
          },
        ],
      },
    });
    templateFor('dev').hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      ExplicitAuthFlows: Match.arrayWith(['ALLOW_ADMIN_USER_PASSWORD_AUTH', 'ALLOW_USER_SRP_AUTH']),
    });
  });

  test('every method of the test API (iam) requires SigV4, and the integration-test role may invoke it', () => {
    const template = templateFor('test');
    for (const method of Object.values(template.findResources('AWS::ApiGateway::Method'))) {
      expect(method.Properties.AuthorizationType).toBe('AWS_IAM');
    }
    template.resourceCountIs('AWS::Cognito::UserPool', 0);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [Match.objectLike({ Action: 'execute-api:Invoke', Effect: 'Allow' })],
      },
      Roles: [Match.anyValue()],
    });
  });

  test('an existing Lambda authorizer is used as a TOKEN authorizer on its header', () => {
    const app = testApp();
    const stack = buildApiStack(app, 'dev', {
      auth: {
        type: 'lambda-authorizer',
        functionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:corp-authorizer',
        identityHeader: 'X-Corp-Token',
      },
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'TOKEN',
      IdentitySource: 'method.request.header.X-Corp-Token',
    });
    for (const method of Object.values(template.findResources('AWS::ApiGateway::Method'))) {
      expect(method.Properties.AuthorizationType).toBe('CUSTOM');
    }
  });

  test('an existing user pool is used without creating one', () => {
    const stack = buildApiStack(testApp(), 'dev', {
      auth: {
        type: 'cognito-existing',
        userPoolArn: 'arn:aws:cognito-idp:eu-west-1:222222222222:userpool/eu-west-1_AbCdEf123',
      },
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Cognito::UserPool', 0);
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'COGNITO_USER_POOLS',
      ProviderARNs: ['arn:aws:cognito-idp:eu-west-1:222222222222:userpool/eu-west-1_AbCdEf123'],
    });
  });
});

describe('stage', () => {
  test('logs access as JSON to an encrypted log group with retention, logs errors, traces', () => {
    const template = templateFor('dev');
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'live',
      TracingEnabled: true,
      AccessLogSetting: {
        DestinationArn: Match.anyValue(),
        Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId".*"status":"\\$context.status"'),
      },
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          ThrottlingRateLimit: 20,
          ThrottlingBurstLimit: 40,
        }),
      ]),
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 14, KmsKeyId: Match.anyValue() });
  });

  test('creates the execution log group API Gateway writes to, encrypted, with retention, before the stage', () => {
    const template = templateFor('prod');
    const [restApiId] = Object.keys(template.findResources('AWS::ApiGateway::RestApi'));
    const logGroups = template.findResources('AWS::Logs::LogGroup', {
      Properties: { LogGroupName: { 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: restApiId }, '/live']] } },
    });
    const [[id, logGroup]] = Object.entries(logGroups);
    expect(logGroup).toMatchObject({
      Properties: { RetentionInDays: 365, KmsKeyId: expect.anything() },
      DeletionPolicy: 'Retain',
    });
    const [stage] = Object.values(template.findResources('AWS::ApiGateway::Stage'));
    expect(stage.DependsOn).toContain(id);
  });

  test('applies per-route throttling from routeThrottling (prod: POST /v1/exports)', () => {
    templateFor('prod').hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          HttpMethod: 'POST',
          ResourcePath: '/~1v1~1exports',
          ThrottlingRateLimit: 2,
          ThrottlingBurstLimit: 5,
        }),
      ]),
    });
  });

  test('applies a dataset routeThrottling key to the one shared method of that route', () => {
    const template = Template.fromStack(
      buildApiStack(testApp(), 'dev', {
        routeThrottling: { 'POST /v1/datasets/{dataset}/events': { rateLimit: 5, burstLimit: 10 } },
      }),
    );
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          HttpMethod: 'POST',
          ResourcePath: '/~1v1~1datasets~1{dataset}~1events',
          ThrottlingRateLimit: 5,
          ThrottlingBurstLimit: 10,
        }),
      ]),
    });
  });

  test('adds exactly the routes lib/assets/api/routes.ts lists (the keys routeThrottling is checked against)', () => {
    const stack = buildApiStack(testApp(), 'dev');
    expect([...stack.routes].sort()).toEqual([...API_ROUTE_KEYS].sort());
  });

  test.each([
    ['BAD_REQUEST_BODY', '400'],
    ['BAD_REQUEST_PARAMETERS', '400'],
    ['UNAUTHORIZED', '401'],
    ['ACCESS_DENIED', '403'],
    ['MISSING_AUTHENTICATION_TOKEN', '403'],
    ['RESOURCE_NOT_FOUND', '404'],
    ['REQUEST_TOO_LARGE', '413'],
    ['UNSUPPORTED_MEDIA_TYPE', '415'],
    ['THROTTLED', '429'],
    ['QUOTA_EXCEEDED', '429'],
    ['INTEGRATION_TIMEOUT', '504'],
  ])('answers gateway error %s with %s and a JSON body carrying the request id', (type, status) => {
    templateFor('dev').hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: type,
      StatusCode: status,
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"requestId": "\\$context.requestId"') },
    });
  });

  test('makes default 4xx and 5xx answers JSON too', () => {
    for (const type of ['DEFAULT_4XX', 'DEFAULT_5XX']) {
      templateFor('dev').hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        ResponseTemplates: { 'application/json': Match.stringLikeRegexp('requestId') },
      });
    }
  });

  test('validates body and parameters on every method with an integration that reads them', () => {
    const template = templateFor('dev');
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestBody: true,
      ValidateRequestParameters: true,
    });
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')).filter(
      (method) => method.Properties.Integration.Type !== 'MOCK',
    );
    expect(methods.length).toBe(6);
    for (const method of methods) expect(method.Properties.RequestValidatorId).toBeDefined();
  });

  test('has a WAF web ACL with managed rules and a rate limit only where enabled (prod)', () => {
    templateFor('dev').resourceCountIs('AWS::WAFv2::WebACL', 0);
    const prod = templateFor('prod');
    prod.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      Rules: Match.arrayWith([
        Match.objectLike({ Statement: { RateBasedStatement: { Limit: 2000, AggregateKeyType: 'IP' } } }),
        Match.objectLike({
          Statement: {
            ManagedRuleGroupStatement: Match.objectLike({
              Name: 'AWSManagedRulesCommonRuleSet',
              RuleActionOverrides: [{ Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } }],
            }),
          },
        }),
      ]),
    });
    const [association] = Object.values(prod.findResources('AWS::WAFv2::WebACLAssociation'));
    const [stageId] = Object.keys(prod.findResources('AWS::ApiGateway::Stage'));
    expect(association.DependsOn).toContain(stageId);
  });
});

describe('POST /v1/datasets/{dataset}/objects', () => {
  test('writes straight to landing with S3 PutObject (no Lambda), refusing other content types', () => {
    templateFor('dev').hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      RequestParameters: { 'method.request.path.dataset': true, 'method.request.header.Content-Type': true },
      Integration: Match.objectLike({
        Type: 'AWS',
        IntegrationHttpMethod: 'PUT',
        PassthroughBehavior: 'NEVER',
        Uri: 'arn:aws:apigateway:eu-west-1:s3:path/dp-dev-landing-222222222222-eu-west-1/{dataset}/{partition}/{object}',
        RequestTemplates: {
          'application/json': Match.stringLikeRegexp('requestOverride.path.dataset'),
          'application/x-ndjson': Match.anyValue(),
          'text/csv': Match.anyValue(),
        },
        RequestParameters: Match.objectLike({
          // A placeholder the template always overrides: the caller's text never becomes the key as is.
          'integration.request.path.dataset': 'context.requestId',
          'integration.request.header.x-amz-meta-caller': 'context.authorizer.claims.sub',
          'integration.request.header.x-amz-meta-request-time': 'context.requestTime',
          'integration.request.header.x-amz-server-side-encryption': "'aws:kms'",
        }),
        IntegrationResponses: [
          Match.objectLike({ StatusCode: '202', SelectionPattern: '2\\d{2}' }),
          Match.objectLike({ StatusCode: '400', SelectionPattern: '400' }),
          Match.objectLike({
            StatusCode: '404',
            SelectionPattern: '403',
            ResponseTemplates: { 'application/json': Match.stringLikeRegexp('Unknown dataset') },
          }),
          Match.objectLike({ StatusCode: '500' }),
        ],
      }),
    });
  });

  test('the integration role may only put objects under each dataset prefix, never _unknown-dataset/', () => {
    const template = templateFor('dev');
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [
          {
            Action: 's3:PutObject',
            Effect: 'Allow',
            Resource: [
              'arn:aws:s3:::dp-dev-landing-222222222222-eu-west-1/clicks/ingest_date=*',
              'arn:aws:s3:::dp-dev-landing-222222222222-eu-west-1/impressions/ingest_date=*',
            ],
          },
        ],
      },
      Roles: [
        { Ref: Match.stringLikeRegexp('^IngestionLandingWriteRole') },
        { Ref: Match.stringLikeRegexp('^UploadUrl') },
      ],
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          { Action: ['kms:Encrypt', 'kms:GenerateDataKey'], Effect: 'Allow', Resource: Match.anyValue() },
          {
            Sid: 'NeverWriteUnknownDatasets',
            Action: 's3:PutObject',
            Effect: 'Deny',
            Resource: 'arn:aws:s3:::dp-dev-landing-222222222222-eu-west-1/_unknown-dataset/*',
          },
        ],
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^IngestionLandingWriteRole') }],
    });
  });

  test('answers anything else under a dataset with a mock JSON 404 that knows the configured datasets', () => {
    const template = templateFor('dev');
    expect(synthesizedRoutes(template)).toEqual(
      expect.arrayContaining(['ANY /v1/datasets/{dataset}', 'ANY /v1/datasets/{dataset}/{proxy+}']),
    );
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'ANY',
      Integration: Match.objectLike({
        Type: 'MOCK',
        IntegrationResponses: [
          Match.objectLike({
            StatusCode: '404',
            ResponseTemplates: {
              'application/json': Match.stringLikeRegexp('knownDatasets = \\{"clicks": true, "impressions": true\\}'),
            },
          }),
        ],
      }),
    });
  });
});

describe('POST /v1/datasets/{dataset}/uploads', () => {
  test('signs upload URLs up to api.maxUploadBytes and requires the declared size in the request model', () => {
    const template = templateFor('dev');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ MAX_UPLOAD_BYTES: '1073741824', URL_EXPIRY_SECONDS: '900' }) },
    });
    template.hasResourceProperties('AWS::ApiGateway::Model', {
      Name: 'UploadRequest',
      Schema: Match.objectLike({
        required: ['contentType', 'contentLength'],
        properties: Match.objectLike({ contentLength: { type: 'integer', minimum: 1 } }),
      }),
    });
  });

  test('is one Lambda route for every dataset; the function may presign landing writes and encrypt them', () => {
    const template = templateFor('dev');
    expect(synthesizedRoutes(template)).toContain('POST /v1/datasets/{dataset}/uploads');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DATASETS: '["clicks","impressions"]' }) },
    });
  });
});

describe('POST /v1/datasets/{dataset}/events', () => {
  const firehoseMethod = (template: Template) =>
    Object.values(template.findResources('AWS::ApiGateway::Method')).find((method) =>
      JSON.stringify(method.Properties.Integration?.Uri ?? '').includes(':firehose:action/PutRecordBatch'),
    );

  test('puts record batches straight into Firehose (no Lambda), with the templates and model of both types', () => {
    const template = templateFor('dev');
    const method = firehoseMethod(template);
    expect(method?.Properties).toEqual(
      expect.objectContaining({
        HttpMethod: 'POST',
        RequestParameters: { 'method.request.path.dataset': true, 'method.request.header.Content-Type': true },
        RequestValidatorId: expect.anything(),
        RequestModels: { 'application/json': expect.anything() },
        Integration: expect.objectContaining({
          Type: 'AWS',
          IntegrationHttpMethod: 'POST',
          PassthroughBehavior: 'NEVER',
          Credentials: { 'Fn::GetAtt': [expect.stringMatching(/^IngestionEventsWriteRole/), 'Arn'] },
          RequestParameters: { 'integration.request.header.Content-Type': "'application/x-amz-json-1.1'" },
          RequestTemplates: {
            // The stream name the template builds: the prefix, the (checked) dataset, the suffix.
            'application/json': expect.stringContaining('#set($streamPrefix = "dp-dev-")'),
            'application/x-ndjson': expect.stringContaining('$input.body.split($newline)'),
          },
          IntegrationResponses: [
            expect.objectContaining({ StatusCode: '202', SelectionPattern: '2\\d{2}' }),
            expect.objectContaining({ StatusCode: '400', SelectionPattern: '4\\d{2}' }),
            expect.objectContaining({ StatusCode: '503' }),
          ],
        }),
      }),
    );
    template.hasResourceProperties('AWS::ApiGateway::Model', {
      Name: 'EventsRequest',
      ContentType: 'application/json',
      Schema: Match.objectLike({ type: ['object', 'array'], minItems: 1, maxItems: 500, items: { type: 'object' } }),
    });
  });

  test('the integration role may put record batches into the streams of the configured datasets only', () => {
    const template = templateFor('dev');
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [
          {
            Action: 'firehose:PutRecordBatch',
            Effect: 'Allow',
            Resource: [
              'arn:aws:firehose:eu-west-1:222222222222:deliverystream/dp-dev-clicks-events',
              'arn:aws:firehose:eu-west-1:222222222222:deliverystream/dp-dev-impressions-events',
            ],
          },
        ],
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^IngestionEventsWriteRole') }],
    });
    // Nothing else: the role has no inline policy.
    const inline = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.Roles).includes('IngestionEventsWriteRole'),
    );
    expect(inline).toEqual([]);
  });

  test('one DirectPut stream per dataset into landing/<dataset>/ingest_date=, errors outside every dataset prefix', () => {
    const template = templateFor('dev');
    template.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 2);
    for (const dataset of ['clicks', 'impressions']) {
      template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
        DeliveryStreamName: `dp-dev-${dataset}-events`,
        DeliveryStreamType: 'DirectPut',
        DeliveryStreamEncryptionConfigurationInput: { KeyType: 'CUSTOMER_MANAGED_CMK', KeyARN: Match.anyValue() },
        ExtendedS3DestinationConfiguration: Match.objectLike({
          BucketARN: 'arn:aws:s3:::dp-dev-landing-222222222222-eu-west-1',
          Prefix: `${dataset}/ingest_date=!{timestamp:yyyy-MM-dd}/`,
          ErrorOutputPrefix: `_firehose-errors/${dataset}/!{firehose:error-output-type}/ingest_date=!{timestamp:yyyy-MM-dd}/`,
          CompressionFormat: 'GZIP',
          FileExtension: '.ndjson.gz',
          EncryptionConfiguration: { KMSEncryptionConfig: { AWSKMSKeyARN: Match.anyValue() } },
          CloudWatchLoggingOptions: {
            Enabled: true,
            LogGroupName: { Ref: Match.stringLikeRegexp('^IngestionEventStreamsDeliveryLogs') },
            LogStreamName: { Ref: Match.stringLikeRegexp('LogStream') },
          },
        }),
      });
      template.hasResourceProperties('AWS::Logs::LogStream', { LogStreamName: `dp-dev-${dataset}-events` });
    }
  });

  test('buffers as the environment config says (dev: short), else 64 MiB / 300 s', () => {
    templateFor('dev').hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: Match.objectLike({ BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 60 } }),
    });
    templateFor('prod').hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: Match.objectLike({
        BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 300 },
      }),
    });
  });

  test('logs delivery errors to a KMS-encrypted log group with retention, kept in prod', () => {
    templateFor('dev').hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 14,
      KmsKeyId: Match.anyValue(),
    });
    const prod = templateFor('prod');
    const [logGroupId] = Object.keys(prod.findResources('AWS::Logs::LogGroup')).filter((id) =>
      id.startsWith('IngestionEventStreamsDeliveryLogs'),
    );
    expect(prod.toJSON().Resources[logGroupId]).toEqual(
      expect.objectContaining({
        DeletionPolicy: 'Retain',
        Properties: expect.objectContaining({ KmsKeyId: expect.anything() }),
      }),
    );
  });

  test('the delivery role: assumed by Firehose for this environment only, writing the landing prefixes only', () => {
    const template = templateFor('dev');
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'firehose.amazonaws.com' },
            Condition: {
              StringEquals: { 'aws:SourceAccount': '222222222222' },
              ArnLike: { 'aws:SourceArn': 'arn:aws:firehose:eu-west-1:222222222222:deliverystream/dp-dev-*-events' },
            },
          },
        ],
      },
    });
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [
          {
            Action: ['s3:AbortMultipartUpload', 's3:PutObject'],
            Effect: 'Allow',
            Resource: [
              'arn:aws:s3:::dp-dev-landing-222222222222-eu-west-1/clicks/ingest_date=*',
              'arn:aws:s3:::dp-dev-landing-222222222222-eu-west-1/impressions/ingest_date=*',
            ],
          },
        ],
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^IngestionEventStreamsDeliveryRole') }],
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^IngestionEventStreamsDeliveryRole') }],
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Sid: 'LandingBucket',
            Action: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
            Resource: 'arn:aws:s3:::dp-dev-landing-222222222222-eu-west-1',
          }),
          Match.objectLike({
            Sid: 'DeliveryErrors',
            Resource: 'arn:aws:s3:::dp-dev-landing-222222222222-eu-west-1/_firehose-errors/*',
          }),
          Match.objectLike({
            Sid: 'EncryptDeliveredObjects',
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Condition: {
              StringEquals: {
                'kms:ViaService': 's3.eu-west-1.amazonaws.com',
                'kms:EncryptionContext:aws:s3:arn': 'arn:aws:s3:::dp-dev-landing-222222222222-eu-west-1',
              },
            },
          }),
          Match.objectLike({
            Sid: 'DeliveryLogs',
            Action: 'logs:PutLogEvents',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IngestionEventStreamsDeliveryLogs'), 'Arn'] },
          }),
        ],
      },
    });
  });

  test('each stream is created after its role can write (Firehose checks it at creation)', () => {
    const streams = Object.values(templateFor('dev').findResources('AWS::KinesisFirehose::DeliveryStream'));
    for (const stream of streams) {
      expect(stream.DependsOn).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^IngestionEventStreamsDeliveryRoleDefaultPolicy/),
          expect.stringMatching(/^IngestionEventStreamsLandingWritesPart1/),
        ]),
      );
    }
  });

  test('fails for a dataset whose stream name would pass 64 characters, naming the longest allowed', () => {
    const [clicks] = generatedDatasets(1);
    // dp-dev- and -events leave 50 characters of the 64.
    const fits = { ...clicks, name: `a${'b'.repeat(49)}` };
    expect(() => buildApiStack(testApp(), 'dev', {}, { datasets: [fits] })).not.toThrow();
    const long = { ...clicks, name: `a${'b'.repeat(50)}` };
    expect(() => buildApiStack(testApp(), 'dev', {}, { datasets: [long] })).toThrow(
      /Dataset "ab+": its event stream name "dp-dev-ab+-events" has 65 characters, Firehose allows 64. Fix: shorten the dataset name to at most 50 characters/,
    );
  });
});

describe('many datasets', () => {
  const apiGatewayResources = (template: Template) =>
    Object.values(template.toJSON().Resources as Record<string, { Type: string }>).filter((resource) =>
      resource.Type.startsWith('AWS::ApiGateway::'),
    ).length;
  const two = Template.fromStack(buildApiStack(testApp(), 'dev', {}, { datasets: generatedDatasets(2) }));
  const hundred = Template.fromStack(buildApiStack(testApp(), 'dev', {}, { datasets: generatedDatasets(100) }));
  const resourceCount = (template: Template) => Object.keys(template.toJSON().Resources).length;

  test('adding datasets adds no API Gateway resource or method', () => {
    expect(apiGatewayResources(hundred)).toBe(apiGatewayResources(two));
    expect(synthesizedRoutes(hundred).sort()).toEqual(synthesizedRoutes(two).sort());
  });

  test('100 datasets keep the stack under 500 resources: a stream and a log stream each', () => {
    process.stdout.write(
      `Api stack resources: 2 datasets ${resourceCount(two)}, 100 datasets ${resourceCount(hundred)}\n`,
    );
    expect(resourceCount(hundred)).toBeLessThan(500);
    hundred.resourceCountIs('AWS::KinesisFirehose::DeliveryStream', 100);
    expect(resourceCount(hundred) - resourceCount(two)).toBeLessThanOrEqual(98 * 2 + 5);
  });

  test('every policy stays within IAM size limits with 100 datasets', () => {
    const chars = (document: unknown) => JSON.stringify(document).replace(/\s/g, '').length;
    const inlinePerRole = new Map<string, number>();
    const managedPerRole = new Map<string, number>();
    for (const policy of Object.values(hundred.findResources('AWS::IAM::ManagedPolicy'))) {
      expect(chars(policy.Properties.PolicyDocument)).toBeLessThanOrEqual(6144);
      for (const role of policy.Properties.Roles as { Ref: string }[]) {
        managedPerRole.set(role.Ref, (managedPerRole.get(role.Ref) ?? 0) + 1);
      }
    }
    for (const policy of Object.values(hundred.findResources('AWS::IAM::Policy'))) {
      for (const role of (policy.Properties.Roles ?? []) as { Ref?: string }[]) {
        if (!role.Ref) continue;
        inlinePerRole.set(role.Ref, (inlinePerRole.get(role.Ref) ?? 0) + chars(policy.Properties.PolicyDocument));
      }
    }
    for (const count of managedPerRole.values()) expect(count).toBeLessThanOrEqual(10);
    for (const size of inlinePerRole.values()) expect(size).toBeLessThanOrEqual(10_240);
    // The per-dataset grants of 100 datasets need more than one managed policy: they were split, not truncated.
    const landingResources = Object.values(hundred.findResources('AWS::IAM::ManagedPolicy'))
      .filter((policy) => JSON.stringify(policy.Properties.Roles).includes('IngestionLandingWriteRole'))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement[0].Resource as string[]);
    expect(landingResources).toHaveLength(100);
    expect(new Set(landingResources).size).toBe(100);
  });
});

describe('export jobs', () => {
  test('keep job state in an on-demand table with PITR, KMS and TTL', () => {
    templateFor('dev').hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  test('go through a KMS-encrypted queue with a dead-letter queue and an alarm on it', () => {
    const template = templateFor('dev');
    template.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: Match.anyValue(),
      VisibilityTimeout: 3600,
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 3 },
    });
    template.resourceCountIs('AWS::SQS::Queue', 2);
    for (const queue of Object.values(template.findResources('AWS::SQS::Queue'))) {
      expect(queue.Properties.KmsMasterKeyId).toBeDefined();
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  test('the worker may write only exports/ of the artifacts bucket and use the Data API on the mart cluster', () => {
    templateFor('dev').hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:PutObject'],
            Resource: Match.stringLikeRegexp('^arn:aws:s3:::dp-dev-artifacts-.*/exports/\\*$'),
          }),
          Match.objectLike({
            Action: Match.arrayWith(['rds-data:BeginTransaction', 'rds-data:ExecuteStatement']),
            Resource: 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-mart',
          }),
        ]),
      },
    });
  });
});

describe('functions', () => {
  test('are outside the VPC and the mart query answers before the 29 s API timeout', () => {
    const template = templateFor('dev');
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions.length).toBe(5);
    for (const fn of functions) expect(fn.Properties.VpcConfig).toBeUndefined();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 25,
      Environment: { Variables: Match.objectLike({ MART_TABLES: Match.stringLikeRegexp('"table":"clicks"') }) },
    });
  });

  test('no policy allows every action', () => {
    const policies = Object.values(templateFor('dev').findResources('AWS::IAM::Policy'));
    for (const policy of policies) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        expect([statement.Action].flat()).not.toContain('*');
      }
    }
  });
});

describe('cross-stack references', () => {
  test('synthesize without a cycle when the mart secret is encrypted with the Storage key', () => {
    const app = testApp();
    buildApiStack(app, 'dev');
    expect(() => app.synth()).not.toThrow();
  });

  test("the mart functions read the reader login's secret only, decrypting it only through Secrets Manager", () => {
    const template = templateFor('dev');
    // Logical IDs of the functions inside the route constructs (MartRoutes 'Marts', ExportRoutes 'Exports').
    for (const fn of ['MartsMartQueryFunction', 'ExportsExportWorkerFunction']) {
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp(`^${fn}ServiceRole`) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Sid: 'DataApiOnMartCluster',
              Action: [
                'rds-data:BeginTransaction',
                'rds-data:CommitTransaction',
                'rds-data:ExecuteStatement',
                'rds-data:RollbackTransaction',
              ],
              Resource: 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-mart',
            }),
            {
              Sid: 'ReadMartReaderSecret',
              Effect: 'Allow',
              Action: 'secretsmanager:GetSecretValue',
              Resource: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:ReaderLoginSecret-AbCdEf',
            },
            Match.objectLike({
              Action: 'kms:Decrypt',
              Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
            }),
          ]),
        },
      });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Role: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${fn}ServiceRole`), 'Arn'] },
        Environment: {
          Variables: Match.objectLike({
            MART_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:ReaderLoginSecret-AbCdEf',
            MART_CLUSTER_ARN: 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-mart',
            MART_DATABASE: 'mart',
          }),
        },
      });
    }
    // No other secret appears anywhere in the API stack but the loader's, for the integration-test role only.
    const secrets = JSON.stringify(template.toJSON()).match(/secret:[A-Za-z0-9!-]+?-AbCdEf/g) ?? [];
    expect([...new Set(secrets)].sort()).toEqual([
      'secret:LoaderLoginSecret-AbCdEf',
      'secret:ReaderLoginSecret-AbCdEf',
    ]);
    const loaderReaders = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy).includes('secret:LoaderLoginSecret-AbCdEf'),
    );
    expect(loaderReaders.map((policy) => policy.Properties.PolicyName)).toEqual([
      expect.stringMatching(/^DataPathTestPolicy/),
    ]);
  });
});

describe('data-path integration test', () => {
  test('the integration-test role may query audit and the mart as the loader and remove batch CSVs, nothing broader', () => {
    const CURATED = 'dp-dev-curated-222222222222-eu-west-1';
    const template = templateFor('dev');
    const [policy, ...others] = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      String(p.Properties.PolicyName).startsWith('DataPathTestPolicy'),
    );
    expect(others).toEqual([]);
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      // Single statements as the loader login: never the master secret, no transactions.
      {
        Sid: 'DataApiOnMartCluster',
        Effect: 'Allow',
        Action: 'rds-data:ExecuteStatement',
        Resource: 'arn:aws:rds:eu-west-1:222222222222:cluster:dp-dev-mart',
      },
      {
        Sid: 'ReadMartLoaderSecret',
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: 'arn:aws:secretsmanager:eu-west-1:222222222222:secret:LoaderLoginSecret-AbCdEf',
      },
      expect.objectContaining({
        Sid: 'DecryptMartSecrets',
        Action: 'kms:Decrypt',
        Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
      }),
      {
        Effect: 'Allow',
        Action: 's3:DeleteObject',
        Resource: ['clicks', 'impressions'].map((name) => `arn:aws:s3:::${CURATED}/_mart/${name}/batch_id=*/*`),
      },
    ]);
    // It follows its batch through audit: no Step Functions permission (there is no per-dataset state machine).
    expect(JSON.stringify(policy)).not.toContain('states:');
  });

  test('only where the test has no API identity may it put its sample into landing', () => {
    const statementsOf = (template: Template) =>
      Object.values(template.findResources('AWS::IAM::Policy'))
        .filter((policy) => String(policy.Properties.PolicyName).startsWith('DataPathTestPolicy'))
        .flatMap(
          (policy) => policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource?: unknown }[],
        );
    const landingPuts = (template: Template) =>
      statementsOf(template)
        .filter((s) => [s.Action].flat().includes('s3:PutObject'))
        .flatMap((s) => [s.Resource].flat());
    const keyThroughS3 = (template: Template) =>
      statementsOf(template).filter((s) => JSON.stringify(s).includes('"kms:ViaService":"s3.'));
    expect(landingPuts(templateFor('dev'))).toEqual([]);
    expect(landingPuts(templateFor('test'))).toEqual([]);
    expect(keyThroughS3(templateFor('dev'))).toEqual([]);
    // Prod requires MFA, which a throwaway user cannot answer.
    const prod = templateFor('prod');
    expect(landingPuts(prod)).toEqual(
      ['clicks', 'impressions'].map((name) => expect.stringMatching(new RegExp(`landing.*/${name}/ingest_date=\\*$`))),
    );
    expect(keyThroughS3(prod)).toEqual([expect.objectContaining({ Action: 'kms:GenerateDataKey' })]);
    const lambdaAuthorizer = Template.fromStack(
      buildApiStack(testApp(), 'dev', {
        auth: {
          type: 'lambda-authorizer',
          functionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:corp-authorizer',
          identityHeader: 'Authorization',
        },
      }),
    );
    expect(landingPuts(lambdaAuthorizer)).toHaveLength(2);
    expect(keyThroughS3(lambdaAuthorizer)).toHaveLength(1);
  });
});
