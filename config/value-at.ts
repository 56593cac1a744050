/**
 * The value at a validation issue's path (zod `issue.path`) in the raw input, or undefined when the path leaves it:
 * what config errors and the API's 400 reasons quote. Side-effect free: lambda/ bundles it.
 */
export function valueAt(raw: unknown, keys: readonly PropertyKey[]): unknown {
  let current = raw;
  for (const key of keys) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}
