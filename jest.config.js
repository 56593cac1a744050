// Type checking is done once by `npm run typecheck`; tests only transpile, which keeps `npm test` fast.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { diagnostics: false }],
    // SQL migrations are imported as text, as esbuild's text loader bundles them (lambda/migrate/migration-files.ts).
    '^.+\\.sql$': '<rootDir>/test/helpers/text-transform.js',
  },
  testTimeout: 60_000,
  // Jest's default leaves one core to its parent process, which only waits; on a 2-core machine that halves the speed.
  maxWorkers: '100%',
};
