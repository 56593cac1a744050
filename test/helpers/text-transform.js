/**
 * Jest transform for files the bundler loads as text (`.sql`: esbuild's `text` loader in PlatformFunction): the module
 * exports the file's content, so `import sql from './x.sql'` gives the same string in tests as in the bundle.
 */
module.exports = {
  process(sourceText) {
    return { code: `module.exports = ${JSON.stringify(sourceText)};` };
  },
};
