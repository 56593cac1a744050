/**
 * The check modules, run in this order. The data-path checks (API -> state machine -> curated -> mart) are added here
 * as further modules; each declares the stage outputs it needs.
 */
import type { CheckModule } from '../runner';
import { networkChecks } from './network';
import { storageChecks } from './storage';

export const CHECK_MODULES: readonly CheckModule[] = [storageChecks, networkChecks];
