import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { ApiAuthConfig } from '../../config/schema';

export interface ApiAuthProps {
  /** `environment.api.auth` from the environment config. */
  readonly auth: ApiAuthConfig;
  /** Resource name prefix, e.g. `dp-dev`. */
  readonly prefix: string;
  /** Removal policy of a created user pool (it holds the users). @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * How every method of the API authenticates, from the environment config: a user pool created here, an existing
 * user pool, IAM (SigV4), or an existing Lambda authorizer. {@link methodOptions} is the API's default method options,
 * so no route can be added without auth.
 */
export class ApiAuth extends Construct {
  readonly methodOptions: apigw.MethodOptions;
  /** The user pool of `cognito` and `cognito-existing` auth. */
  readonly userPool?: cognito.IUserPool;
  /** App client of a created user pool (no secret: used by scripts and the integration test). */
  readonly userPoolClient?: cognito.UserPoolClient;
  /** The authorizer, except for IAM auth. */
  readonly authorizer?: apigw.IAuthorizer;
  /** Context variable naming the caller (the objects route stores it as object metadata). */
  readonly callerContextVariable: string;

  constructor(scope: Construct, id: string, props: ApiAuthProps) {
    super(scope, id);
    const { auth } = props;
    this.callerContextVariable = callerContextVariable(auth);
    switch (auth.type) {
      case 'cognito': {
        const pool = new cognito.UserPool(this, 'UserPool', {
          userPoolName: `${props.prefix}-api`,
          selfSignUpEnabled: auth.selfSignUp,
          signInAliases: { email: true },
          autoVerify: { email: true },
          passwordPolicy: {
            minLength: 14,
            requireLowercase: true,
            requireUppercase: true,
            requireDigits: true,
            requireSymbols: true,
            tempPasswordValidity: Duration.days(3),
          },
          mfa: { off: cognito.Mfa.OFF, optional: cognito.Mfa.OPTIONAL, required: cognito.Mfa.REQUIRED }[auth.mfa],
          mfaSecondFactor: auth.mfa === 'off' ? undefined : { otp: true, sms: false },
          accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
          removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
          deletionProtection: (props.removalPolicy ?? RemovalPolicy.RETAIN) === RemovalPolicy.RETAIN,
        });
        this.userPool = pool;
        this.userPoolClient = pool.addClient('ApiClient', {
          generateSecret: false,
          // adminUserPassword: the integration test signs a throwaway user in with its role's credentials.
          authFlows: { userSrp: true, userPassword: true, adminUserPassword: true },
          preventUserExistenceErrors: true,
          accessTokenValidity: Duration.hours(1),
          idTokenValidity: Duration.hours(1),
          refreshTokenValidity: Duration.days(1),
        });
        break;
      }
      case 'cognito-existing':
        this.userPool = cognito.UserPool.fromUserPoolArn(this, 'UserPool', auth.userPoolArn);
        break;
      case 'iam':
        this.methodOptions = { authorizationType: apigw.AuthorizationType.IAM };
        return;
      case 'lambda-authorizer':
        this.authorizer = new apigw.TokenAuthorizer(this, 'Authorizer', {
          handler: lambda.Function.fromFunctionArn(this, 'AuthorizerFunction', auth.functionArn),
          identitySource: apigw.IdentitySource.header(auth.identityHeader),
          resultsCacheTtl: Duration.minutes(5),
        });
        this.methodOptions = { authorizationType: apigw.AuthorizationType.CUSTOM, authorizer: this.authorizer };
        return;
    }
    this.authorizer = new apigw.CognitoUserPoolsAuthorizer(this, 'Authorizer', { cognitoUserPools: [this.userPool] });
    this.methodOptions = { authorizationType: apigw.AuthorizationType.COGNITO, authorizer: this.authorizer };
  }
}

/** Context variable naming the caller, per auth type. */
function callerContextVariable(auth: ApiAuthConfig): string {
  switch (auth.type) {
    case 'iam':
      return 'context.identity.userArn';
    case 'lambda-authorizer':
      return 'context.authorizer.principalId';
    default:
      return 'context.authorizer.claims.sub';
  }
}
