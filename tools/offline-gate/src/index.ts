import { readFileSync } from 'node:fs';
import { offlineKitSchema, verifyOffline, type OfflineKit, type OfflineVerdict } from '@admit/contracts';

/**
 * The offline-gate verifier: decides on a ticket code with nothing but the offline kit
 * (`GET /v1/gates/offline-kit`). The verification itself is `verifyOffline` of the shared
 * contracts library — the very code the ticketing service verifies with.
 */
export { verifyOffline, type OfflineKit, type OfflineVerdict };

export function parseKit(json: unknown): OfflineKit {
  return offlineKitSchema.parse(json);
}

export function loadKit(path: string): OfflineKit {
  return parseKit(JSON.parse(readFileSync(path, 'utf8')));
}
