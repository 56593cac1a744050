/**
 * English messages for the Lambda code's zod schemas. Lambda code uses `zod/mini` (tree-shakable: 18-27 KB of a bundle,
 * where classic `zod` is 83-96 KB and ~15 ms of cold start), which loads no locale: without this, every built-in issue
 * would read "Invalid input". Messages reach API responses ("Unrecognized key: ...") and the errors the state machine
 * and CloudFormation show, so they must read as classic zod's do.
 *
 * Every module that parses with a schema (parseEvent, safeParse, parse) imports this one for its side effect:
 * `import './zod-locale';`. Contracts (contract.ts) only declare schemas and stay free of it (lib/ imports them).
 * `en` is imported by name from 'zod/locales': that bundles just this locale (~3 KB, no measurable load time), where
 * `z.locales.en()` bundles all of them (~260 KB). Re-exporting `z` from here instead would defeat tree-shaking.
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());
