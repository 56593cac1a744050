/**
 * `npm run cost [-- --markdown] [--assembly <dir>]`: the fixed monthly cost at idle of every account the cloud assembly
 * (default `cdk.out/`, from `npx cdk synth`) deploys to, itemized, from the list prices in scripts/cost/prices.ts.
 * `--markdown` prints the README's table ("What an environment costs") instead.
 */
import { parseArgs } from 'node:util';
import { AssemblyError, readAssembly } from './cost/assembly';
import { type AccountCost, budgetCheck, costByAccount, formatMarkdown, formatText } from './cost/report';

/** Dev must idle under this a month, including the KMS rotation surcharge of year 3 (issue 14). */
export const DEV_IDLE_BUDGET = 5;
export const USAGE = 'Usage: npm run cost -- [--markdown] [--assembly <cdk.out directory>]';

export function runCost(argv: readonly string[], print: (text: string) => void): number {
  let values: { markdown?: boolean; assembly?: string };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { markdown: { type: 'boolean' }, assembly: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    print(`ERROR: ${(error as Error).message}. ${USAGE}`);
    return 2;
  }
  let accounts: AccountCost[];
  try {
    accounts = costByAccount(readAssembly(values.assembly ?? 'cdk.out'));
  } catch (error) {
    if (!(error instanceof AssemblyError)) throw error;
    print(`ERROR: ${error.message}`);
    return 2;
  }
  if (values.markdown) {
    print(formatMarkdown(accounts));
    return 0;
  }
  print(formatText(accounts));
  const dev = accounts.find((account) => account.label.split(' + ').some((label) => label.toLowerCase() === 'dev'));
  if (dev) print(budgetCheck(dev, DEV_IDLE_BUDGET));
  return 0;
}

if (require.main === module) {
  process.exitCode = runCost(process.argv.slice(2), (text) => process.stdout.write(`${text}\n`));
}
