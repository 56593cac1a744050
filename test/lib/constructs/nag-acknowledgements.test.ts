import { nagResourceName } from '../../../lib/constructs/nag-acknowledgements';

describe('nagResourceName', () => {
  test('names ARNs the way cdk-nag writes them in finding ids', () => {
    expect(nagResourceName({ 'Fn::GetAtt': ['AuditFunctionA83597BC', 'Arn'] })).toBe('<AuditFunctionA83597BC.Arn>');
    expect(nagResourceName({ 'Fn::ImportValue': 'dp-dev-data-mart:ExportsOutputFnGetAttX' })).toBe(
      'dp-dev-data-mart:ExportsOutputFnGetAttX',
    );
    expect(nagResourceName('arn:aws:lambda:eu-west-1:222222222222:function:f')).toBe(
      'arn:aws:lambda:eu-west-1:222222222222:function:f',
    );
  });

  test('fails on a shape it cannot name, saying what it received', () => {
    expect(() => nagResourceName({ 'Fn::Sub': 'x' })).toThrow(
      /Cannot name \{"Fn::Sub":"x"\}.*Fix: extend nagResourceName/,
    );
  });
});
