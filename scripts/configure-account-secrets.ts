/**
 * One-time setup of the pipeline source in the deployment account (see --help). The logic lives in
 * scripts/configure-account-secrets/configure.ts; this file parses arguments, builds the SDK clients and maps
 * failures to exit codes.
 */
import { CodeStarConnectionsClient } from '@aws-sdk/client-codestar-connections';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { fromIni } from '@aws-sdk/credential-providers';
import { ConfigError, DEFAULT_CONFIG_DIR, loadConfig } from '../config/load';
import { AWS_REGIONS } from '../config/schema';
import { type ConfigureIo, configureAccountSecrets } from './configure-account-secrets/configure';
import { EXIT_INVALID_CONFIG, EXIT_UNEXPECTED, EXIT_USAGE, SetupError } from './configure-account-secrets/errors';
import { promptHidden, readAll } from './configure-account-secrets/token';

export const HELP = `Usage: npx tsx scripts/configure-account-secrets.ts [--profile <name>] [--region <region>]
                                                 [--create-connection] [--kms-key-id <key>] [--help]

Sets up what the pipelines need to read the source repository configured in config/platform.json ("source"),
in the deployment account (deployment.account). It refuses credentials of any other account.

  github-connection  checks the CodeConnections connection source.connectionArn is AVAILABLE and explains what to
                     do when it is PENDING or ERROR. With --create-connection it creates a GitHub connection named
                     <prefix>-github (or finds the existing one), prints the console steps of the GitHub handshake
                     and the ARN to paste into config/platform.json.
  github-token       reads a GitHub personal access token from stdin (when piped) or from a prompt that echoes
                     nothing, checks its shape, creates or updates the Secrets Manager secret source.tokenSecretName
                     (tagged with the platform tags) and prints only the secret ARN. The token is never accepted as
                     an argument and never printed. Example: npx tsx scripts/configure-account-secrets.ts < token.txt
  codecommit         nothing to set up.

Options:
  --profile <name>     AWS profile (default: the standard credential chain)
  --region <region>    region of the secret and of a new connection (default: deployment.region of the config)
  --create-connection  create the CodeConnections connection (github-connection sources)
  --kms-key-id <key>   KMS key (ID, ARN or alias) for the token secret (default: aws/secretsmanager)
  --help               show this help

Exit codes:
  0  done
  1  unexpected failure (an AWS call failed; the message says which)
  2  usage error (unknown option, a token passed as an argument, --create-connection with another source type)
  4  no valid AWS credentials
  5  the credentials belong to another account than deployment.account
  6  aborted at the prompt
  7  the configuration in config/ is invalid
  8  the connection is not usable yet (PENDING, ERROR, missing or in another account): follow the printed steps
  9  the token does not look like a GitHub personal access token
`;

export interface CliArgs {
  readonly profile?: string;
  readonly region?: string;
  readonly createConnection: boolean;
  readonly kmsKeyId?: string;
  readonly help: boolean;
}

/** Parses argv. Values that are not options are refused without being echoed: they may be a pasted token. */
export function parseArgs(argv: readonly string[]): CliArgs {
  const args: { -readonly [K in keyof CliArgs]: CliArgs[K] } = { createConnection: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new SetupError(EXIT_USAGE, `${arg} needs a value. See --help`);
      }
      i++;
      return next;
    };
    switch (arg) {
      case '--help':
      case '-h':
        args.help = true;
        break;
      case '--create-connection':
        args.createConnection = true;
        break;
      case '--profile':
        args.profile = value();
        break;
      case '--region': {
        const region = value();
        if (!(AWS_REGIONS as readonly string[]).includes(region)) {
          throw new SetupError(
            EXIT_USAGE,
            `--region "${region}" is not an AWS region code. Fix: e.g. --region eu-west-1`,
          );
        }
        args.region = region;
        break;
      }
      case '--kms-key-id':
        args.kmsKeyId = value();
        break;
      default:
        throw new SetupError(
          EXIT_USAGE,
          arg.startsWith('--token') || !arg.startsWith('-')
            ? 'unexpected argument (not shown, in case it is a token): tokens are never read from the command line, where shell history and process lists keep them. Fix: pipe the token on stdin or answer the prompt'
            : `unknown option "${arg}". See --help`,
        );
    }
  }
  return args;
}

/** stdin when a token is piped in; a hidden prompt on a terminal. */
async function readTokenFromUser(input: NodeJS.ReadStream): Promise<string> {
  if (!input.isTTY) return readAll(input);
  return promptHidden('GitHub personal access token (input hidden): ', input, process.stderr);
}

/** @param input where the token comes from. @default process.stdin */
export async function main(argv: readonly string[], input: NodeJS.ReadStream = process.stdin): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (args.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const { platform } = loadConfig(process.env.DATA_PLATFORM_CONFIG_DIR ?? DEFAULT_CONFIG_DIR);
    const region = args.region ?? platform.deployment.region;
    const credentials = args.profile ? fromIni({ profile: args.profile }) : undefined;
    // An existing connection is read in its own region, whatever --region says.
    const source = platform.source;
    const connectionRegion =
      source.type === 'github-connection' && !args.createConnection ? source.connectionArn.split(':')[3] : region;
    const io: ConfigureIo = {
      readToken: () => readTokenFromUser(input),
      result: (line) => process.stdout.write(`${line}\n`),
      info: (line) => process.stderr.write(`${line}\n`),
    };
    await configureAccountSecrets(
      { platform, region, createConnection: args.createConnection, kmsKeyId: args.kmsKeyId },
      {
        sts: new STSClient({ region, credentials }),
        secretsManager: new SecretsManagerClient({ region, credentials }),
        connections: new CodeStarConnectionsClient({ region: connectionRegion, credentials }),
      },
      io,
    );
    return 0;
  } catch (error) {
    if (error instanceof SetupError) {
      process.stderr.write(`error: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return EXIT_INVALID_CONFIG;
    }
    process.stderr.write(`error: ${(error as Error).name}: ${(error as Error).message}\n`);
    return EXIT_UNEXPECTED;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
