import { mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temporary folder, removed by the returned cleanup (no import of the relay). */
export function tempDir(prefix = 'relay-store-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Removes the checkout's `.tmp/` (where plugin tests need the relay's node_modules above
 * them) once it is empty: left alone while another suite still has a folder in it.
 */
export function removeCheckoutTmpIfEmpty(root: string): void {
  try {
    rmdirSync(join(root, '.tmp'));
  } catch {
    // not empty (another suite is using it) or already gone
  }
}
