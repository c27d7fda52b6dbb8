/** `--state`: a file path (SQLite) or a postgres:// URL. */
import type { StateStore } from './store.js';

export async function openStore(location: string): Promise<StateStore> {
  if (/^postgres(ql)?:\/\//.test(location)) {
    const { PostgresStore } = await import('./postgres.js');
    return PostgresStore.open(location);
  }
  const { SqliteStore } = await import('./sqlite.js');
  return SqliteStore.open(location);
}
