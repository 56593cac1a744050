/**
 * The check modules, run in this order: the infrastructure first, then the data path (API -> state machine ->
 * curated -> mart), which relies on it. Each declares the stage outputs it needs.
 */
import type { CheckModule } from '../runner';
import { dataPathChecks } from './data-path';
import { networkChecks } from './network';
import { storageChecks } from './storage';

/** The infrastructure checks: read-only, quick, need only the storage and network outputs. */
export const INFRASTRUCTURE_MODULES: readonly CheckModule[] = [storageChecks, networkChecks];

export const CHECK_MODULES: readonly CheckModule[] = [...INFRASTRUCTURE_MODULES, dataPathChecks];
