/** The refusal every rollback check raises (sealed.ts, guard.ts, migrate.ts); the HTTP front answers it 503 state_rollback. */
import { EbakError } from '../../errors.js';

/** The host handed back an older or deleted record: the vault refuses to use it. */
export class StateRollback extends EbakError {
  constructor(readonly recordId: string, detail: string) {
    super('VAULT', `sealed state rollback detected for ${recordId}: ${detail}; the host replayed old state`, {
      hint: 'restore the newest state database; the vault will not serve this record until then',
    });
  }
}
