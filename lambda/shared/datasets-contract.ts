/**
 * How a function receives the dataset definitions: PlatformFunction's `bundleDefines: { [DATASETS_GLOBAL]: datasets }`
 * (esbuild `define`) replaces the global with them at bundle time (see ./datasets.ts). Side-effect free: the
 * Orchestration stack imports the name.
 */

/** The global esbuild replaces with the definitions. */
export const DATASETS_GLOBAL = '__PLATFORM_DATASETS__';
