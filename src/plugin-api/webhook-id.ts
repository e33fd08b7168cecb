/**
 * Firecrawl's delivery id of an event, when it sent one: a non-empty string. The envelope
 * accepts any JSON there, as it does in every field the relay does not route on; any other
 * value (null, a number, an object, "") counts as no id.
 */
export function webhookIdOf(payload: { webhookId?: unknown }): string | undefined {
  return typeof payload.webhookId === 'string' && payload.webhookId !== '' ? payload.webhookId : undefined;
}
