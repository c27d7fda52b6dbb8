/**
 * A vault device session as an identity: this machine's device file for the
 * repository (written by `ebak init --vault` or `ebak login`) plus the device
 * key the vault releases to its live token unwrap K (vault/client/device.ts).
 * It also hands over the session's repository head client (head.ts checks
 * storage against it). A write-only device's session unwraps its write-only
 * credential instead (writeonly.ts), never K. After a master-key rotation
 * elsewhere the device's K follows the vault's rotation links to the key
 * that opens the config (vault/client/device.ts). The vault client (OPAQUE, attested TLS) is loaded
 * only when this machine has a device file for the repository, so a local
 * repository's commands start without it.
 */
import { opensConfig } from '../repository/format/keyring.js';
import type { Backend } from '../storage/backend.js';
import { findDevice } from '../vault/client/devicefile.js';
import type { Action } from '../vault/protocol.js';
import type { Identity } from './identity.js';
import { openCredential } from './writeonly.js';

/** The vault of this machine's device session for the repository at `backend`, if it has one. */
export async function deviceVault(backend: Backend, configDir: string): Promise<string | undefined> {
  return (await findDevice(backend, configDir))?.vault;
}

/** `action` tells the vault what the command will do, so its per-account policy can refuse it. */
export function deviceIdentity(configDir: string, action: Action | 'read' = 'read'): Identity {
  return {
    async unwrap(backend: Backend) {
      const device = await findDevice(backend, configDir);
      if (!device) return undefined;
      const { deviceSession } = await import('../vault/client/device.js');
      const raw = await backend.load({ type: 'config', name: 'config' });
      const s = await deviceSession(device, action, { opens: async (key) => opensConfig(key, raw), configDir });
      return 'sealedCredential' in s ? { credential: openCredential(s.sealedCredential), head: s.head } : s;
    },
  };
}
