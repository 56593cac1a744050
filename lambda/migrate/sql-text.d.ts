/** A `.sql` file imported as its text (esbuild's `text` loader; test/helpers/text-transform.js in Jest). */
declare module '*.sql' {
  const text: string;
  export default text;
}
