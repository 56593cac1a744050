import { parameterNames, splitStatements } from '../../../lambda/shared/sql-params';

describe('parameterNames', () => {
  it('finds names outside literals, dollar quotes, identifiers, casts and comments, once each', () => {
    const sql = `SELECT :a, :b::text, E'it\\'s :no', 'x'':no', "col:no", $$ :no $$, $tag$ :no $tag$, :a
      -- :no
      /* :no /* nested :no */ :no */ FROM t WHERE x = :c AND y = $1`;
    expect(parameterNames(sql)).toEqual(['a', 'b', 'c']);
  });
});

describe('splitStatements', () => {
  it('splits at top-level semicolons only and drops comment-only remainders', () => {
    const script = `-- header
CREATE TABLE a (t text DEFAULT ';');
DO $$ BEGIN PERFORM 1; END $$;
/* ; */ SELECT "semi;colon" FROM a;
-- trailing comment
`;
    expect(splitStatements(script)).toEqual([
      "-- header\nCREATE TABLE a (t text DEFAULT ';')",
      'DO $$ BEGIN PERFORM 1; END $$',
      '/* ; */ SELECT "semi;colon" FROM a',
    ]);
  });
});
