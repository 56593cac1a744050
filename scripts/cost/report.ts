/**
 * The fixed monthly cost at idle of every account of a cloud assembly: the stacks of each account (environment
 * stages, and the pipeline stacks of the deployment account) priced by catalog.ts, summed into one line per billed
 * item, with CloudWatch's always-free tier deducted once per account. Formats it as text or as Markdown.
 */
import type { AssemblyStack } from './assembly';
import { type Charge, priceResource, round } from './catalog';
import * as price from './prices';

export interface CostLine {
  readonly item: string;
  readonly quantity: number;
  readonly year1: number;
  readonly year3: number;
  readonly basis: string;
  /** Construct paths (or stack/logical id) of the resources the line sums. */
  readonly resources: readonly string[];
}

export interface UnpricedLine {
  readonly type: string;
  readonly reason: string;
  readonly resources: readonly string[];
}

export interface AccountCost {
  readonly account: string;
  readonly regions: readonly string[];
  /** `Dev`, `Test`, ... (the stage names) or `deployment` for the pipeline stacks. */
  readonly label: string;
  readonly lines: readonly CostLine[];
  readonly unpriced: readonly UnpricedLine[];
  /** Resources free at idle, counted per type. */
  readonly free: readonly { readonly type: string; readonly count: number; readonly reason: string }[];
  readonly year1: number;
  readonly year3: number;
}

export const DEPLOYMENT_LABEL = 'deployment';
export const FREE_TIER_ITEM = 'CloudWatch always-free tier of the account';

export function costByAccount(stacks: readonly AssemblyStack[]): AccountCost[] {
  const accounts = new Map<string, AssemblyStack[]>();
  for (const stack of stacks) accounts.set(stack.account, [...(accounts.get(stack.account) ?? []), stack]);
  return [...accounts.entries()].map(([account, accountStacks]) => costOfAccount(account, accountStacks));
}

function costOfAccount(account: string, stacks: readonly AssemblyStack[]): AccountCost {
  const lines = new Map<
    string,
    { charge: Charge; quantity: number; year1: number; year3: number; resources: string[] }
  >();
  const unpriced = new Map<string, UnpricedLine & { resources: string[] }>();
  const free = new Map<string, { type: string; count: number; reason: string }>();
  let dashboards = 0;
  let alarmMetrics = 0;
  for (const stack of stacks) {
    for (const logicalId of stack.missingNested) {
      addUnpriced(
        unpriced,
        'AWS::CloudFormation::Stack',
        'nested stack template not found in the assembly',
        `${stack.path}/${logicalId}`,
      );
    }
    for (const [logicalId, resource] of Object.entries(stack.template.Resources ?? {})) {
      // Listed as unpriced above: its template is not there to price.
      if (stack.missingNested.includes(logicalId)) continue;
      const name = resourceName(stack, logicalId, resource.Metadata?.['aws:cdk:path']);
      for (const outcome of priceResource(resource, stack.template)) {
        if (outcome.kind === 'unpriced') {
          addUnpriced(unpriced, resource.Type, outcome.reason, name);
        } else if (outcome.kind === 'free') {
          const entry = free.get(resource.Type) ?? { type: resource.Type, count: 0, reason: outcome.reason };
          entry.count++;
          free.set(resource.Type, entry);
        } else {
          const key = `${outcome.item}\n${outcome.basis}`;
          const line = lines.get(key) ?? { charge: outcome, quantity: 0, year1: 0, year3: 0, resources: [] };
          line.quantity += outcome.quantity;
          line.year1 = round(line.year1 + outcome.year1);
          line.year3 = round(line.year3 + outcome.year3);
          line.resources.push(name);
          lines.set(key, line);
          if (outcome.freeTier === 'dashboard') dashboards += outcome.quantity;
          if (outcome.freeTier === 'alarm-metric') alarmMetrics += outcome.quantity;
        }
      }
    }
  }
  const costLines: CostLine[] = [...lines.values()]
    .map(({ charge, quantity, year1, year3, resources }) => ({
      item: charge.item,
      quantity,
      year1,
      year3,
      basis: charge.basis,
      resources,
    }))
    .sort((a, b) => b.year3 - a.year3 || b.year1 - a.year1 || a.item.localeCompare(b.item));
  const freeTier = round(
    Math.min(dashboards, price.CLOUDWATCH_FREE_DASHBOARDS) * price.CLOUDWATCH_DASHBOARD_MONTH +
      Math.min(alarmMetrics, price.CLOUDWATCH_FREE_ALARM_METRICS) * price.CLOUDWATCH_ALARM_METRIC_MONTH,
  );
  if (freeTier > 0) {
    costLines.push({
      item: FREE_TIER_ITEM,
      quantity: 1,
      year1: -freeTier,
      year3: -freeTier,
      basis: `first ${price.CLOUDWATCH_FREE_DASHBOARDS} dashboards and ${price.CLOUDWATCH_FREE_ALARM_METRICS} standard-resolution alarm metrics of each account are free`,
      resources: [],
    });
  }
  const stages = [...new Set(stacks.map((stack) => stack.stage))];
  const label = stages
    .map((stage) => (stage === undefined ? DEPLOYMENT_LABEL : (stage.split('/').pop() ?? stage)))
    .join(' + ');
  return {
    account,
    regions: [...new Set(stacks.map((stack) => stack.region))],
    label,
    lines: costLines,
    unpriced: [...unpriced.values()],
    free: [...free.values()].sort((a, b) => a.type.localeCompare(b.type)),
    year1: round(costLines.reduce((sum, line) => sum + line.year1, 0)),
    year3: round(costLines.reduce((sum, line) => sum + line.year3, 0)),
  };
}

function addUnpriced(
  unpriced: Map<string, UnpricedLine & { resources: string[] }>,
  type: string,
  reason: string,
  name: string,
): void {
  const key = `${type}\n${reason}`;
  const entry = unpriced.get(key) ?? { type, reason, resources: [] };
  entry.resources.push(name);
  unpriced.set(key, entry);
}

/** The resource's construct path without the trailing `/Resource` (else stack path + logical id). */
function resourceName(stack: AssemblyStack, logicalId: string, cdkPath: unknown): string {
  return typeof cdkPath === 'string' ? cdkPath.replace(/\/(Resource|Default)$/, '') : `${stack.path}/${logicalId}`;
}

const dollars = (amount: number): string => (amount < 0 ? `-$${(-amount).toFixed(2)}` : `$${amount.toFixed(2)}`);

/** The budget check of an account (e.g. Dev under $5 a month from year 3), one line. */
export function budgetCheck(account: AccountCost, budget: number): string {
  const verdict = account.year3 <= budget ? 'OK' : 'OVER BUDGET';
  const unpriced = account.unpriced.reduce((sum, line) => sum + line.resources.length, 0);
  const note = unpriced > 0 ? ` (${unpriced} unpriced resource(s) not included)` : '';
  return `${account.label} idle budget: ${dollars(account.year3)}/month in year 3, including the KMS rotation surcharge, against ${dollars(budget)}: ${verdict}${note}`;
}

export const HEADER = `Fixed monthly cost at idle (list prices of ${price.PRICE_REGION}, scripts/cost/prices.ts; ${price.HOURS_PER_MONTH} hours a month; year N = the last month of year N)`;

export function formatText(accounts: readonly AccountCost[]): string {
  const out: string[] = [HEADER, ''];
  for (const account of accounts) {
    out.push(`${account.label}: account ${account.account}, ${account.regions.join(', ')}`);
    const rows = account.lines.map((line) => [
      line.item,
      String(line.quantity),
      dollars(line.year1),
      dollars(line.year3),
      line.basis,
    ]);
    rows.push(['Total', '', dollars(account.year1), dollars(account.year3), '']);
    out.push(
      ...table(['Item', 'Qty', 'Year 1', 'Year 3', 'Basis'], rows, [false, true, true, true, false]).map(
        (l) => `  ${l}`,
      ),
    );
    if (account.unpriced.length > 0) {
      out.push('  Unpriced (not in the total):');
      for (const line of account.unpriced) {
        out.push(`    ${line.type} x${line.resources.length}: ${line.reason} [${abbreviate(line.resources)}]`);
      }
    }
    out.push(`  Free at idle: ${account.free.map((entry) => `${entry.type} x${entry.count}`).join(', ') || 'none'}`);
    out.push('');
  }
  out.push('Totals');
  const totals = accounts.map((account) => [
    `${account.label} (${account.account})`,
    dollars(account.year1),
    dollars(account.year3),
    String(account.unpriced.reduce((sum, line) => sum + line.resources.length, 0)),
  ]);
  totals.push([
    'All accounts',
    dollars(round(accounts.reduce((sum, a) => sum + a.year1, 0))),
    dollars(round(accounts.reduce((sum, a) => sum + a.year3, 0))),
    String(accounts.reduce((sum, a) => sum + a.unpriced.reduce((s, line) => s + line.resources.length, 0), 0)),
  ]);
  out.push(
    ...table(['Account', 'Year 1', 'Year 3', 'Unpriced'], totals, [false, true, true, true]).map((l) => `  ${l}`),
  );
  return out.join('\n');
}

/** The README's table: one table per account, then the totals. */
export function formatMarkdown(accounts: readonly AccountCost[]): string {
  const out: string[] = [];
  for (const account of accounts) {
    out.push(`| ${account.label} (account ${account.account}) | Qty | Year 1 | Year 3 |`, '|---|---:|---:|---:|');
    for (const line of account.lines) {
      out.push(`| ${line.item} | ${line.quantity} | ${dollars(line.year1)} | ${dollars(line.year3)} |`);
    }
    for (const line of account.unpriced) {
      out.push(`| Unpriced: ${line.type} (${line.reason}) | ${line.resources.length} | ? | ? |`);
    }
    out.push(`| **Total** | | **${dollars(account.year1)}** | **${dollars(account.year3)}** |`, '');
  }
  out.push('| Account | Year 1 | Year 3 | Unpriced resources |', '|---|---:|---:|---:|');
  for (const account of accounts) {
    const unpriced = account.unpriced.reduce((sum, line) => sum + line.resources.length, 0);
    out.push(`| ${account.label} | ${dollars(account.year1)} | ${dollars(account.year3)} | ${unpriced} |`);
  }
  out.push(
    `| **All accounts** | **${dollars(round(accounts.reduce((s, a) => s + a.year1, 0)))}** | **${dollars(round(accounts.reduce((s, a) => s + a.year3, 0)))}** | |`,
  );
  return out.join('\n');
}

function table(header: readonly string[], rows: readonly string[][], right: readonly boolean[]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const render = (row: readonly string[]) =>
    row
      .map((cell, column) => (right[column] ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd();
  return [render(header), ...rows.map(render)];
}

function abbreviate(names: readonly string[]): string {
  return names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')}, and ${names.length - 3} more`;
}
