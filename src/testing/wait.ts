/**
 * Waits for `check`; past the timeout, fails with what it waited for and what it saw
 * (`what()`), never a bare "timed out".
 */
export async function until(check: () => boolean | Promise<boolean>, what: () => string | Promise<string>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms: ${await what()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface ContractState {
  target: string;
  test: string;
  waitedFor: string;
  /** Every `<job>:<text>` sent in this test, in order. */
  sent: readonly string[];
  received: readonly string[];
  queue: { pending: number; deadLetters: number } | undefined;
}

/** Where a contract test stands, for its failure message: which case, what is missing next, what arrived. */
export function describeContractState({ target, test, waitedFor, sent, received, queue }: ContractState): string {
  const missing = sent.filter((e) => !received.includes(e));
  return [
    `sink contract "${target}", case "${test}": waited for ${waitedFor}`,
    `  expected next: ${missing[0] ?? '(nothing: every event sent arrived)'}`,
    `  arrived (${received.length}): ${JSON.stringify(received.slice(-10))}${received.length > 10 ? ' (last 10)' : ''}`,
    `  queue: ${queue ? `${queue.pending} pending, ${queue.deadLetters} dead letters` : 'relay closed'}`,
  ].join('\n');
}
