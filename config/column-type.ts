/**
 * The column type grammar, on its own so that Lambda code can use it without loading the config schema (zod and
 * every config rule cost ~30 ms of cold start).
 */
export const COLUMN_TYPE = /^(string|integer|bigint|double|boolean|date|timestamp|decimal\((\d{1,2}),(\d{1,2})\))$/;
