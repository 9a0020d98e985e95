/**
 * `waitAtMost`: a bounded wait for work whose outcome does not matter (a client's answer to a
 * cancel, a goodbye on the cluster bus), so that shutting down or cancelling never hangs.
 */

/** Resolves when `p` settles or after `ms`, whichever comes first; never rejects. */
export async function waitAtMost(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
