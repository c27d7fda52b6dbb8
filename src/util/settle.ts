/** Waiting for a batch of promises without leaving any rejection unobserved. */

/** Like Promise.all, but rejects (with the first error) only once every promise has settled. */
export async function settleAll(ps: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(ps)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
