import { DataMartStack } from '../../lib/stacks/data-mart-stack';
import { NetworkStack } from '../../lib/stacks/network-stack';
import { StorageStack } from '../../lib/stacks/storage-stack';
import { exampleConfig, exampleEnvironment } from '../helpers/app';
import { formatViolations, nagApp, nagViolations } from '../helpers/nag';

describe.each(['dev', 'prod'] as const)('DataMart stack nag (%s)', (name) => {
  it('has no cdk-nag errors', () => {
    const app = nagApp();
    const environment = exampleEnvironment(name);
    const env = { account: environment.account, region: environment.region };
    const common = { prefix: `dp-${name}`, environment, env };
    const storage = new StorageStack(app, 'Storage', common);
    const network = new NetworkStack(app, 'Network', { ...common, key: storage.key });
    const dataMart = new DataMartStack(app, 'DataMart', {
      ...common,
      vpc: network.vpc,
      key: storage.key,
      curated: storage.zones.curated,
      datasets: exampleConfig().datasets,
    });
    const violations = formatViolations(nagViolations(app, dataMart));
    expect(violations.filter((v) => v.startsWith('error'))).toEqual([]);
  });
});
