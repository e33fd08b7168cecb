import type { DeadLetter } from './store.js';

const BOM = '\uFEFF';

/**
 * A dead letter as `dlq show` and `GET /admin/dead-letters/:id` print it: the body as JSON.
 * A stored body that does not parse (a 0.1 queue kept a leading BOM, which is stripped
 * here; or anything else) is shown as text with a note, never an error: it is what an
 * operator needs to see to decide on a replay or a drop.
 */
export function deadLetterView(letter: DeadLetter & { body: Buffer }): DeadLetter & { body: unknown; bodyNote?: string } {
  let text = letter.body.toString('utf8');
  if (text.startsWith(BOM)) text = text.slice(1);
  try {
    return { ...letter, body: JSON.parse(text) as unknown };
  } catch (err) {
    return { ...letter, body: text, bodyNote: `the stored body is not valid JSON (${(err as Error).message}): shown as text` };
  }
}
